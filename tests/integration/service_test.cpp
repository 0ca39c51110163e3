// shmd under a service manager: socket activation, READY/STATUS, and surviving a restart
// through the fd store. ServiceManager plays systemd's part, so no PID 1 is needed.

#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>
#include <cstring>

#include "child_process.hpp"
#include "eventually.hpp"
#include "service_manager.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::eventually;
using shm::test::ServiceManager;

TEST(Service, SocketActivatedDaemonServesTheInheritedSocketAndReportsReady) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_TRUE(sm.ready());
  EXPECT_NE(sm.status().find("0 segments"), std::string::npos) << sm.status();
  {
    shm::Client client(sm.socket_path());
    auto v = client.create_value<int>("answer", 42);
    EXPECT_EQ(client.attach_value<int>("answer").load(), 42);
  }
  EXPECT_NE(sm.log().find("socket-activated"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(sm.terminate()), 0);
  EXPECT_TRUE(std::filesystem::exists(sm.socket_path())) << "the socket file belongs to the service manager";
}

TEST(Service, SegmentsAreStoredAndFreedInTheFdStore) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  {
    auto a = client.create_value<double>("a", 1.0);
    auto b = client.create_array<int>("b", 4);
    sm.drain();
    EXPECT_EQ(sm.stored("seg-"), 2u);
    EXPECT_EQ(sm.stored("journal-"), 1u);
    client.remove("b");
    sm.drain();
    EXPECT_EQ(sm.stored("seg-"), 2u) << "b is still attached";
  }
  // Dropping the handles sent quiet Detaches; this client's next request is answered after them.
  (void)client.info("a");
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 1u) << "b was freed with its last reference";
}

TEST(Service, AScribbledHeaderDoesNotCostASegmentItsRestart) {
  // Clients may write a segment's header; what the daemon restores from is its own journal.
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  {
    auto scribbled = client.create_array<int>("scribbled", 4);
    std::byte* base = scribbled.segment().bytes().data() - scribbled.segment().info().data_offset;
    const std::uint32_t version = shm::kLayoutVersion + 7;
    std::memcpy(base + offsetof(shm::SegmentHeader, layout_version), &version, sizeof version);
  }
  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("restored 1 segment"), std::string::npos) << sm.log();
  EXPECT_EQ(client.info("scribbled").length, 4u);
  std::error_code ec;
  client.attach_array<int>("scribbled", ec);
  EXPECT_EQ(ec, shm::Errc::corrupt_segment) << "clients still refuse the scribbled header";
}

TEST(Service, SegmentsSurviveSigkillOfTheDaemonWithContentsModeAndOwner) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  auto value = client.create_value<double>("kept.value", 1.5, {.mode = 0640});
  const int init[] = {1, 2, 3};
  auto array = client.create_array<int>("kept.array", std::span<const int>(init), {.mode = 0604});
  auto eph = client.create_value<long>("kept.ephemeral", 7, {.ephemeral = true});
  const auto before = client.info("kept.value");

  sm.kill9();
  // The daemon is gone, but mappings keep working.
  value.store(2.5);
  array[1] = 20;

  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("restored 3 segments"), std::string::npos) << sm.log();

  // The client's next call reconnects and re-registers its references.
  const auto after = client.info("kept.value");
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.mode, 0640u);
  EXPECT_EQ(after.uid, before.uid);
  EXPECT_EQ(after.gid, before.gid);
  EXPECT_EQ(after.typecode, 'd');
  EXPECT_EQ(after.refcount, 1u);
  EXPECT_EQ(client.info("kept.array").refcount, 1u);
  EXPECT_EQ(client.info("kept.array").mode, 0604u);
  EXPECT_EQ(client.info("kept.ephemeral").refcount, 1u);

  shm::Client other(sm.socket_path());
  EXPECT_EQ(other.attach_value<double>("kept.value").load(), 2.5);
  auto seen = other.attach_array<int>("kept.array");
  EXPECT_EQ(std::vector<int>(seen.begin(), seen.end()), (std::vector<int>{1, 20, 3}));
  EXPECT_EQ(other.attach_value<long>("kept.ephemeral").load(), 7);

  // New segments continue the id sequence rather than reusing ids.
  auto fresh = client.create_value<int>("fresh");
  EXPECT_GT(fresh.info().id, eph.info().id);

  // Lifetimes still work after the restart: dropping the ephemeral's last reference removes it.
  eph.detach();
  std::error_code ec;
  client.info("kept.ephemeral", ec);
  EXPECT_EQ(ec, shm::Errc::not_found);
}

TEST(Service, UnclaimedEphemeralSegmentsAreReleasedAfterTheGracePeriod) {
  ServiceManager sm({"--restore-grace", "0.2"});
  ASSERT_NO_FATAL_FAILURE(sm.start());
  {
    // The creator dies with the daemon, so nobody will ever reattach its ephemeral segment.
    shm::test::ChildProcess creator({SHM_TEST_PEER_BIN, sm.socket_path(), "create-and-wait", "orphan", "ephemeral"});
    ASSERT_EQ(creator.read_line(), "created");
    shm::Client client(sm.socket_path());
    client.create_value<int>("kept", 2);
    sm.kill9();
    creator.kill(SIGKILL);
  }
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  EXPECT_TRUE(eventually([&] {
    std::error_code ec;
    client.info("orphan", ec);
    return ec == shm::Errc::not_found;
  })) << sm.log();
  EXPECT_EQ(client.info("kept").refcount, 0u) << "persistent segments stay";
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 1u);
}

TEST(Service, SecondRestartRestoresFromTheCompactedJournal) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  {
    shm::Client client(sm.socket_path());
    for (int i = 0; i < 50; ++i) client.create_value<int>("s" + std::to_string(i), i);
    for (int i = 0; i < 50; i += 2) client.remove("s" + std::to_string(i));
  }
  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  const auto all = client.list();
  ASSERT_EQ(all.size(), 25u);
  for (const auto& s : all) EXPECT_EQ(client.attach_value<int>(s.name).load(), std::stoi(s.name.substr(1)));
  sm.drain();
  EXPECT_EQ(sm.stored("journal-"), 1u) << "old journals are removed from the store";
  EXPECT_EQ(sm.stored("seg-"), 25u);
}

// Creates Value `name` holding `value` without attaching; the error (and the daemon's message) if refused.
std::error_code try_create(shm::Client& client, const std::string& name, int value) {
  shm::SegmentSpec spec;
  spec.typecode = 'i';
  spec.initial = std::as_bytes(std::span<const int>(&value, 1));
  std::error_code ec;
  client.create_detached(name, spec, ec);
  return ec;
}

// Six store fds: four segments, and two for the journal and its successor while it is replaced.
constexpr std::size_t kSmallStore = 6;

TEST(Service, CreatesPastTheFdStoresCapacityFailAndTheOthersSurviveARestart) {
  ServiceManager sm({}, kSmallStore);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("FileDescriptorStoreMax=6 keeps 4 segments"), std::string::npos) << sm.log();
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), 100 + i)) << i;
  for (int i = 4; i < 10; ++i) {
    const std::error_code ec = try_create(client, "seg" + std::to_string(i), 100 + i);
    EXPECT_EQ(ec, shm::Errc::limit_exceeded) << i;
    EXPECT_NE(shm::last_error_message().find("the fd store is full: it keeps 4 segments (FileDescriptorStoreMax=6"),
              std::string::npos)
        << shm::last_error_message();
  }
  std::error_code ec;
  client.info("seg4", ec);
  EXPECT_EQ(ec, shm::Errc::not_found) << "a refused create leaves nothing behind";
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 4u);
  EXPECT_EQ(sm.refused(), 0u) << "shmd never sends the store more than it keeps";

  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("restored 4 segments"), std::string::npos) << sm.log();
  EXPECT_EQ(sm.log().find("is lost"), std::string::npos) << sm.log();
  ASSERT_EQ(client.list().size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(client.attach_value<int>("seg" + std::to_string(i)).load(), 100 + i);
  EXPECT_EQ(try_create(client, "seg4", 104), shm::Errc::limit_exceeded) << "the restored ones fill the store";
  sm.drain();
  EXPECT_EQ(sm.refused(), 0u);
}

TEST(Service, RemovingASegmentFreesItsPlaceInTheFdStoreWithItsLastReference) {
  ServiceManager sm({}, kSmallStore);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), i));
  {
    auto held = client.create_value<int>("held", 7);
    EXPECT_EQ(try_create(client, "extra", 1), shm::Errc::limit_exceeded);
    client.remove("held");
    EXPECT_EQ(try_create(client, "extra", 1), shm::Errc::limit_exceeded)
        << "a removed segment keeps its place while it is attached, and it is still in the store";
    held.detach();
  }
  ASSERT_FALSE(try_create(client, "extra", 1)) << shm::last_error_message();
  client.remove("seg0");
  ASSERT_FALSE(try_create(client, "extra2", 2)) << shm::last_error_message();
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 4u);

  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("restored 4 segments"), std::string::npos) << sm.log();
  EXPECT_EQ(client.attach_value<int>("extra").load(), 1);
  EXPECT_EQ(client.attach_value<int>("extra2").load(), 2);
  EXPECT_EQ(client.attach_value<int>("seg2").load(), 2);
  sm.drain();
  EXPECT_EQ(sm.refused(), 0u);
}

TEST(Service, JournalCompactionInAFullFdStoreLosesNothing) {
  // Compaction stores the new journal before it drops the old one: the second journal slot.
  ServiceManager sm({}, kSmallStore);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), i));
  // Each round leaves three journal records (created, removed, freed); 400 rounds pass the
  // compaction threshold (dead records > 2 * live + 1024) at least once.
  for (int round = 0; round < 400; ++round) {
    ASSERT_FALSE(try_create(client, "churn", round)) << round << ": " << shm::last_error_message();
    client.remove("churn");
  }
  ASSERT_FALSE(try_create(client, "last", 42));
  sm.drain();
  EXPECT_EQ(sm.refused(), 0u);
  EXPECT_EQ(sm.stored("journal-"), 1u);
  EXPECT_EQ(sm.stored("journal-1"), 0u) << "the first journal was compacted away";

  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("restored 4 segments"), std::string::npos) << sm.log();
  EXPECT_EQ(client.attach_value<int>("last").load(), 42);
  sm.drain();
  EXPECT_EQ(sm.refused(), 0u);
}

TEST(Service, TheFdStoresCapacityMayComeFromTheEnvironmentAsSystemd254SetsIt) {
  ServiceManager sm({}, kSmallStore, ServiceManager::StoreSizeHint::environment);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), i));
  EXPECT_EQ(try_create(client, "seg4", 4), shm::Errc::limit_exceeded);
  EXPECT_NE(shm::last_error_message().find("FileDescriptorStoreMax=6"), std::string::npos) << shm::last_error_message();
}

TEST(Service, TheEnvironmentsCapacityWinsOverADisagreeingOption) {
  ServiceManager sm({"--fd-store-max", "100"}, kSmallStore, ServiceManager::StoreSizeHint::environment);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("--fd-store-max 100 disagrees with the service manager's FDSTORE=6; using 6"),
            std::string::npos)
      << sm.log();
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), i));
  EXPECT_EQ(try_create(client, "seg4", 4), shm::Errc::limit_exceeded);
}

TEST(Service, WithoutAKnownCapacityTheFdStoreIsNotUsed) {
  ServiceManager sm({}, kSmallStore, ServiceManager::StoreSizeHint::none);
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_NE(sm.log().find("not using the service manager's fd store: its size is unknown"), std::string::npos)
      << sm.log();
  shm::Client client(sm.socket_path());
  for (int i = 0; i < 8; ++i) ASSERT_FALSE(try_create(client, "seg" + std::to_string(i), i));
  sm.drain();
  EXPECT_EQ(sm.stored(""), 0u) << "nothing is sent to a store whose size shmd cannot respect";
  EXPECT_EQ(sm.refused(), 0u);
}

TEST(Service, AnFdStoreWithNoRoomBesideTheJournalIsRefusedAtStart) {
  const auto result = shm::test::run({SHMD_BIN, "--socket", "/nonexistent/unused.sock", "--fd-store-max", "2"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("an fd store of 2 leaves no room for a segment beside shmd's journal"), std::string::npos)
      << result.err;
}

}  // namespace

namespace {

TEST(Service, ClientGivesUpOnASocketThatAcceptsButNeverAnswers) {
  // With socket activation the listener outlives the daemon: connect() succeeds and nobody
  // answers until systemd starts shmd again. A call must fail in bounded time, not hang.
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  client.create_value<int>("v", 1);
  EXPECT_EQ(WEXITSTATUS(sm.terminate()), 0);
  client.set_reply_timeout(std::chrono::milliseconds(300));
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  client.info("v", ec);
  EXPECT_EQ(ec, shm::Errc::daemon_unavailable) << ec.message() << ": " << shm::last_error_message();
  EXPECT_NE(shm::last_error_message().find("did not answer"), std::string::npos) << shm::last_error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));

  // Once the service manager starts shmd again, the same client works again.
  ASSERT_NO_FATAL_FAILURE(sm.start());
  EXPECT_EQ(client.info("v").name, "v");
}

}  // namespace
