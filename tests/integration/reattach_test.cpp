// Reattach against a real shmd: it re-registers references held before a daemon restart and
// nothing else, so no client can pin a segment's memory by sending it. Restarts go through
// ServiceManager (systemd's fd store, no PID 1); the memory's release is shown by the daemon no
// longer holding the segment's memfd (/proc/PID/fd) and the fd store dropping it.

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "raw_client.hpp"
#include "service_manager.hpp"
#include "shm/shm.hpp"

namespace {

namespace pb = shmd::v1;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::RawClient;
using shm::test::ServiceManager;

/// How many of `pid`'s open fds are the memfd shmd made for segment `name`.
std::size_t memfds_of(pid_t pid, const std::string& name) {
  const std::string target = "/memfd:shmd:" + name + " (deleted)";
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string() == target) ++n;
  }
  return n;
}

/// A Value<int> of mode 0644.
shm::SegmentSpec readable_int() {
  shm::SegmentSpec spec;
  spec.typecode = 'i';
  spec.options.mode = 0644;
  return spec;
}

/// Sends Reattach {id, references} on `client` and returns the reply.
pb::Response reattach(RawClient& client, std::uint64_t id, std::uint32_t references) {
  pb::Request r;
  r.mutable_reattach()->set_id(id);
  r.mutable_reattach()->set_references(references);
  auto reply = client.call(r);
  if (!reply) {
    ADD_FAILURE() << "no reply to Reattach";
    return {};
  }
  return reply->first;
}

/// The reference count `client` sees listed for segment `id` (removed ones are listed too).
std::uint32_t listed_refcount(shm::Client& client, std::uint64_t id) {
  for (const auto& s : client.list())
    if (s.id == id) return s.refcount;
  ADD_FAILURE() << "segment id " << id << " is not listed";
  return 0;
}

/// An error reply with `code` whose message names the segment and its id and contains `detail`.
::testing::AssertionResult refused(const pb::Response& r, pb::ErrorCode code, const std::string& name, std::uint64_t id,
                                   const std::string& detail) {
  if (!r.has_error()) return ::testing::AssertionFailure() << "accepted: " << r.ShortDebugString();
  const std::string& m = r.error().message();
  if (r.error().code() != code || m.find("'" + name + "' (id " + std::to_string(id) + ")") == std::string::npos ||
      m.find(detail) == std::string::npos)
    return ::testing::AssertionFailure() << "got " << pb::ErrorCode_Name(r.error().code()) << ": " << m;
  return ::testing::AssertionSuccess();
}

TEST(Reattach, ARemovedSegmentGoesWithItsLastHolderWhateverAThirdClientSends) {
  DaemonProcess daemon;
  shm::Client owner(daemon.socket_path());
  auto value = owner.create_value<double>("doomed", 1.5, {.mode = 0644});
  const std::uint64_t id = value.info().id;
  ChildProcess holder({SHM_TEST_PEER_BIN, daemon.socket_path(), "attach-and-wait", "doomed"});
  ASSERT_EQ(holder.read_line(), "attached");

  RawClient third(daemon.socket_path());
  ASSERT_TRUE(third.hello());
  // A live segment this daemon made has nothing from before a restart to re-register.
  EXPECT_TRUE(refused(reattach(third, id, 1), pb::NOT_ATTACHED, "doomed", id, "0 unclaimed"));
  owner.remove("doomed");
  for (int round = 0; round < 50; ++round) {
    for (const std::uint32_t n : {0U, 1U, 2U, 1000U, 1U << 24, std::numeric_limits<std::uint32_t>::max()})
      ASSERT_TRUE(refused(reattach(third, id, n), pb::NOT_ATTACHED, "doomed", id, "0 unclaimed")) << n;
  }
  EXPECT_EQ(listed_refcount(owner, id), 2u) << "the refused Reattaches added nothing";
  EXPECT_EQ(memfds_of(daemon.pid(), "doomed"), 1u);

  value.detach();
  EXPECT_EQ(memfds_of(daemon.pid(), "doomed"), 1u) << "the holder still has it";
  holder.close_stdin();
  EXPECT_EQ(holder.wait().exit_code, 0);
  // The third client is still connected; the memory goes all the same.
  EXPECT_TRUE(eventually([&] { return memfds_of(daemon.pid(), "doomed") == 0; }))
      << "the daemon still holds the removed segment's memfd";
  const pb::Response late = reattach(third, id, 1);
  EXPECT_EQ(late.error().code(), pb::NOT_FOUND) << late.ShortDebugString();
  for (const auto& s : owner.list()) EXPECT_NE(s.id, id) << "a freed segment is not listed";
}

TEST(Reattach, AfterARestartEachClientGetsBackTheReferencesItHeldAndNoMore) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client a(sm.socket_path());
  shm::Client b(sm.socket_path());
  std::uint64_t id = 0;
  {
    auto a1 = a.create_value<int>("held", 5, {.mode = 0644});
    auto a2 = a.attach_value<int>("held");
    auto a3 = a.attach_value<int>("held");
    auto b1 = b.attach_value<const int>("held");
    id = a1.info().id;
    a.remove("held");  // only the four references keep it now
    EXPECT_EQ(listed_refcount(a, id), 4u);

    sm.kill9();
    ASSERT_NO_FATAL_FAILURE(sm.start());

    // Before its holders come back, a reader may not claim more than the daemon recorded...
    RawClient thief(sm.socket_path());
    ASSERT_TRUE(thief.hello());
    EXPECT_TRUE(refused(reattach(thief, id, 5), pb::NOT_ATTACHED, "held", id, "has 4 unclaimed"));
    EXPECT_TRUE(refused(reattach(thief, id, std::numeric_limits<std::uint32_t>::max()), pb::NOT_ATTACHED, "held", id,
                        "has 4 unclaimed"));

    // ...and each holder's next call re-registers exactly what it held.
    EXPECT_EQ(listed_refcount(a, id), 3u);
    EXPECT_EQ(listed_refcount(b, id), 4u);
    EXPECT_EQ(b1.load(), 5) << "the read-only mapping kept working";
    a2.store(6);
    EXPECT_EQ(a1.load(), 6);
    EXPECT_TRUE(refused(reattach(thief, id, 1), pb::NOT_ATTACHED, "held", id, "has 0 unclaimed"));
    EXPECT_TRUE(refused(reattach(thief, id, 0), pb::NOT_ATTACHED, "held", id, "has 0 unclaimed"));
    sm.drain();
    EXPECT_EQ(sm.stored("seg-"), 1u);
  }
  // The handles are gone (quiet Detaches); the holders' next requests are answered after them.
  (void)a.list();
  (void)b.list();
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 0u) << "the fd store still keeps the removed segment";
  EXPECT_TRUE(eventually([&] { return memfds_of(sm.pid(), "held") == 0; }));
}

TEST(Reattach, ClaimsAcrossConnectionsNeverExceedTheRecordedCount) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  std::uint64_t id = 0;
  {
    shm::Client creator(sm.socket_path());
    id = creator.create_detached("pinned", readable_int()).id;
    // Three holders die with the daemon: the journal counts their references, nobody reclaims them.
    std::vector<std::unique_ptr<ChildProcess>> holders;
    for (int i = 0; i < 3; ++i) {
      holders.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{SHM_TEST_PEER_BIN, sm.socket_path(), "attach-and-wait", "pinned"}));
      ASSERT_EQ(holders.back()->read_line(), "attached");
    }
    creator.remove("pinned");
    sm.kill9();
    for (auto& h : holders) h->kill(SIGKILL);
  }
  ASSERT_NO_FATAL_FAILURE(sm.start());
  auto one = std::make_unique<RawClient>(sm.socket_path());
  auto two = std::make_unique<RawClient>(sm.socket_path());
  ASSERT_TRUE(one->hello());
  ASSERT_TRUE(two->hello());
  const pb::Response first = reattach(*one, id, 2);
  ASSERT_TRUE(first.has_reattach()) << first.ShortDebugString();
  EXPECT_EQ(first.reattach().segment().refcount(), 2u);
  EXPECT_TRUE(refused(reattach(*two, id, 2), pb::NOT_ATTACHED, "pinned", id, "has 1 unclaimed"))
      << "a refused claim takes nothing";
  const pb::Response second = reattach(*two, id, 0);  // 0 means 1
  ASSERT_TRUE(second.has_reattach()) << second.ShortDebugString();
  EXPECT_EQ(second.reattach().segment().refcount(), 3u);
  EXPECT_TRUE(refused(reattach(*one, id, 1), pb::NOT_ATTACHED, "pinned", id, "has 0 unclaimed"));
  EXPECT_TRUE(refused(reattach(*two, id, 1), pb::NOT_ATTACHED, "pinned", id, "has 0 unclaimed"));

  // Once both claimants are gone, nothing is left to keep the removed segment.
  one.reset();
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 1u);
  two.reset();
  EXPECT_TRUE(eventually([&] { return memfds_of(sm.pid(), "pinned") == 0; }));
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 0u);
}

TEST(Reattach, TheGracePeriodDropsUnclaimedReferences) {
  ServiceManager sm({"--restore-grace", "0.3"});
  ASSERT_NO_FATAL_FAILURE(sm.start());
  std::uint64_t kept = 0;
  std::uint64_t gone = 0;
  {
    shm::Client creator(sm.socket_path());
    kept = creator.create_detached("kept", readable_int()).id;
    gone = creator.create_detached("gone", readable_int()).id;
    ChildProcess holder_of_kept({SHM_TEST_PEER_BIN, sm.socket_path(), "attach-and-wait", "kept"});
    ChildProcess holder_of_gone({SHM_TEST_PEER_BIN, sm.socket_path(), "attach-and-wait", "gone"});
    ASSERT_EQ(holder_of_kept.read_line(), "attached");
    ASSERT_EQ(holder_of_gone.read_line(), "attached");
    creator.remove("gone");
    sm.kill9();
    holder_of_kept.kill(SIGKILL);
    holder_of_gone.kill(SIGKILL);
  }
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client client(sm.socket_path());
  // Nobody claims the holders' references: at the end of the grace period they are dropped, so
  // the removed segment goes and the persistent one stays with no references.
  EXPECT_TRUE(eventually([&] { return memfds_of(sm.pid(), "gone") == 0; })) << sm.log();
  EXPECT_EQ(client.info("kept").refcount, 0u);
  EXPECT_EQ(memfds_of(sm.pid(), "kept"), 1u);
  RawClient late(sm.socket_path());
  ASSERT_TRUE(late.hello());
  EXPECT_TRUE(refused(reattach(late, kept, 1), pb::NOT_ATTACHED, "kept", kept, "has 0 unclaimed"));
  EXPECT_EQ(reattach(late, gone, 1).error().code(), pb::NOT_FOUND);
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 1u);
}

TEST(Reattach, AClientRefusedItsReferencesCarriesOnWithItsMapping) {
  ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client holder(sm.socket_path());
  auto value = holder.create_value<int>("contested", 1, {.mode = 0644});
  const std::uint64_t id = value.info().id;
  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  // A reader is quicker than the holder and claims the one reference the daemon recorded.
  RawClient reader(sm.socket_path());
  ASSERT_TRUE(reader.hello());
  ASSERT_TRUE(reattach(reader, id, 1).has_reattach());

  // The holder's next call reconnects; its Reattach is refused, and the call still goes through.
  EXPECT_EQ(holder.info("contested").refcount, 1u) << "only the reader's reference is counted";
  value.store(7);
  EXPECT_EQ(value.load(), 7) << "the mapping keeps working";
  value.detach();  // the daemon does not count it, so there is nothing to drop: no error
  EXPECT_EQ(holder.info("contested").refcount, 1u) << "the reader's reference is untouched";
  auto again = holder.attach_value<int>("contested");
  EXPECT_EQ(again.load(), 7);
  EXPECT_EQ(holder.info("contested").refcount, 2u);
}

}  // namespace
