// Holds end to end: a sender process makes an ephemeral segment, holds it and exits; a receiver
// started afterwards claims it by name and token. Real daemons on per-test sockets, real
// processes (shm-test-peer), and a raw protocol client for requests libshmclient would not send.
// Expiry is awaited by polling the daemon against a deadline, never by a fixed sleep.

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "raw_client.hpp"
#include "segment_queries.hpp"
#include "service_manager.hpp"
#include "shm/shm.hpp"

namespace {

using namespace std::chrono_literals;
using shm::Errc;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::RawClient;
using shm::test::run;
namespace pb = shmd::v1;
using shm::test::gone;

/// The segment's (refcount, holds), or (-1, -1) if the daemon does not know the name.
std::pair<long, long> counts(shm::Client& client, std::string_view name) {
  std::error_code ec;
  const auto info = client.info(name, ec);
  return ec ? std::pair<long, long>{-1, -1} : std::pair<long, long>{info.refcount, info.holds};
}

/// Runs a sender that creates an ephemeral Array<int> of `n` squares, holds it for `seconds` and
/// exits; returns the token it printed.
std::uint64_t send_and_exit(const std::string& socket, const std::string& name, int n, int seconds) {
  const auto sent = run({SHM_TEST_PEER_BIN, socket, "hold-array", name, std::to_string(n), std::to_string(seconds)});
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  return sent.exit_code == 0 ? std::stoull(sent.out) : 0;
}

TEST(Hold, ReceiverStartedAfterTheSenderExitedClaimsTheSegment) {
  DaemonProcess daemon;
  const std::uint64_t token = send_and_exit(daemon.socket_path(), "handoff", 5, 0);
  ASSERT_NE(token, 0u);
  shm::Client observer(daemon.socket_path());
  // The sender's connection is gone (its close is noticed a moment later): only the hold is left.
  EXPECT_TRUE(eventually([&] {
    return counts(observer, "handoff") == std::pair<long, long>{1, 1};
  })) << counts(observer, "handoff").first;
  EXPECT_TRUE(observer.info("handoff").ephemeral);

  const auto received = run({SHM_TEST_PEER_BIN, daemon.socket_path(), "claim-array", "handoff", std::to_string(token)});
  ASSERT_EQ(received.exit_code, 0) << received.err;
  EXPECT_EQ(received.out, "0,1,4,9,16 refcount=1 holds=0\n") << "the claim took over the hold's reference";

  // The receiver held the last reference: its exit frees the ephemeral segment.
  EXPECT_TRUE(eventually([&] { return gone(observer, "handoff"); }));
}

TEST(Hold, UnclaimedHoldExpiresAndTheEphemeralSegmentIsFreed) {
  DaemonProcess daemon;
  shm::Client observer(daemon.socket_path());
  const std::size_t fds_before = daemon.open_fds();
  ASSERT_NE(send_and_exit(daemon.socket_path(), "orphan", 3, 1), 0u);
  EXPECT_TRUE(eventually([&] { return gone(observer, "orphan"); }, 15s)) << daemon.log();
  EXPECT_TRUE(observer.list().empty());
  // Its memfd is closed too: the daemon is back to the descriptors it had before.
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() == fds_before; })) << daemon.open_fds() << " vs " << fds_before;
}

TEST(Hold, AShortHoldTakenAfterALongOneStillExpiresOnTime) {
  // The expiry timer is set for the earliest deadline; a later, shorter hold brings it forward.
  DaemonProcess daemon;
  ASSERT_NE(send_and_exit(daemon.socket_path(), "long", 1, 600), 0u);
  ASSERT_NE(send_and_exit(daemon.socket_path(), "short", 1, 1), 0u);
  shm::Client observer(daemon.socket_path());
  EXPECT_TRUE(eventually([&] { return gone(observer, "short"); }, 15s));
  EXPECT_EQ(counts(observer, "long"), (std::pair<long, long>{1, 1}));
}

TEST(Hold, AHoldFromTheCloseLastsWhileItsConnectionIsOpenAndExpiresOnTimeAfterItCloses) {
  DaemonProcess daemon;
  // A 600 s hold arms the daemon's expiry timer far ahead: the close below must bring it forward.
  ASSERT_NE(send_and_exit(daemon.socket_path(), "long", 1, 600), 0u);
  shm::Client observer(daemon.socket_path());
  auto sender = std::make_unique<shm::Client>(daemon.socket_path());
  {
    auto pinned = sender->create_array<int>("pinned", 4, shm::CreateOptions{.ephemeral = true});
    ASSERT_NE(sender->hold(pinned.segment(), 1s, shm::HoldStart::at_close), 0u);
    auto marker = sender->create_value<int>("marker", 0, shm::CreateOptions{.ephemeral = true});
    ASSERT_NE(sender->hold(marker.segment(), 1s), 0u);
  }  // both handles dropped: each segment is kept by its hold alone
  // The marker's hold, of the same lifetime but counted from its request, ends; the other waits
  // for its connection.
  EXPECT_TRUE(eventually([&] { return gone(observer, "marker"); }, 15s)) << daemon.log();
  EXPECT_EQ(counts(observer, "pinned"), (std::pair<long, long>{1, 1}));

  sender.reset();  // the sender exits: the 1 s start now
  EXPECT_TRUE(eventually([&] { return gone(observer, "pinned"); }, 15s)) << daemon.log();
  EXPECT_EQ(counts(observer, "long"), (std::pair<long, long>{1, 1}));
}

TEST(Hold, ClaimWithABadTokenStillAttachesWithAReferenceOfItsOwn) {
  DaemonProcess daemon;
  shm::Client sender(daemon.socket_path());
  auto a = sender.create_array<int>("kept", 4);
  a[2] = 42;
  const std::uint64_t token = sender.hold(a.segment(), 60s);
  EXPECT_EQ(counts(sender, "kept"), (std::pair<long, long>{2, 1}));

  shm::Client receiver(daemon.socket_path());
  auto wrong = receiver.claim_array<int>("kept", token ^ 0x1234);
  EXPECT_EQ(wrong[2], 42);
  EXPECT_EQ(counts(receiver, "kept"), (std::pair<long, long>{3, 1})) << "the hold is still there";
  auto none = receiver.claim_array<int>("kept", 0);
  EXPECT_EQ(counts(receiver, "kept"), (std::pair<long, long>{4, 1}));

  auto right = receiver.claim_array<int>("kept", token);
  EXPECT_EQ(right[2], 42);
  EXPECT_EQ(counts(receiver, "kept"), (std::pair<long, long>{4, 0})) << "claimed: refcount unchanged";
  auto again = receiver.claim_array<int>("kept", token);
  EXPECT_EQ(counts(receiver, "kept"), (std::pair<long, long>{5, 0})) << "a token is good for one claim";

  std::error_code ec;
  (void)receiver.claim("missing", token, shm::AccessMode::read_write, ec);
  EXPECT_EQ(ec, Errc::not_found);
}

TEST(Hold, ClaimOfTheWrongTypeFailsAndSpendsTheHold) {
  DaemonProcess daemon;
  shm::Client sender(daemon.socket_path());
  shm::CreateOptions ephemeral;
  ephemeral.ephemeral = true;
  auto v = sender.create_value<double>("typed", 2.5, ephemeral);
  const std::uint64_t token = sender.hold(v.segment());
  v.detach();
  shm::Client receiver(daemon.socket_path());
  std::error_code ec;
  (void)receiver.claim_value<int>("typed", token, ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  EXPECT_TRUE(eventually([&] { return gone(receiver, "typed"); })) << "its only reference was the claimed hold";
}

TEST(Hold, HoldOfASegmentThisConnectionDoesNotHoldIsNotAttached) {
  DaemonProcess daemon;
  shm::CreateOptions shared;
  shared.mode = 0666;
  shm::Client owner(daemon.socket_path());
  auto v = owner.create_value<int>("pinned", 1, shared);

  RawClient stranger(daemon.socket_path());
  ASSERT_TRUE(stranger.hello());
  pb::Request hold;
  hold.mutable_hold()->set_id(v.info().id);
  auto refused = stranger.call(hold);
  ASSERT_TRUE(refused && refused->first.has_error());
  EXPECT_EQ(refused->first.error().code(), pb::NOT_ATTACHED) << refused->first.error().message();
  EXPECT_TRUE(refused->second.empty());

  // Once it holds a reference of its own it may; the reply carries no fd.
  pb::Request attach;
  attach.mutable_attach()->set_name("pinned");
  attach.mutable_attach()->set_read_only(true);
  auto attached = stranger.call(attach);
  ASSERT_TRUE(attached && attached->first.has_attach());
  auto held = stranger.call(hold);
  ASSERT_TRUE(held && held->first.has_hold()) << held->first.error().message();
  EXPECT_NE(held->first.hold().token(), 0u);
  EXPECT_EQ(held->first.hold().seconds(), 30u);
  EXPECT_EQ(held->first.hold().segment().holds(), 1u);
  EXPECT_TRUE(held->second.empty()) << "a Hold reply passes no descriptor";

  hold.mutable_hold()->set_seconds(601);
  auto too_long = stranger.call(hold);
  ASSERT_TRUE(too_long && too_long->first.has_error());
  EXPECT_EQ(too_long->first.error().code(), pb::INVALID_ARGUMENT);
}

TEST(Hold, LibraryRefusesHandlesItCannotHold) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("v", 1);
  std::error_code ec;
  EXPECT_EQ(client.hold(v.segment(), 601s, ec), 0u);
  EXPECT_EQ(ec, Errc::invalid_argument);
  EXPECT_EQ(client.hold(v.segment(), -1s, ec), 0u);
  EXPECT_EQ(ec, Errc::invalid_argument);
  EXPECT_EQ(client.hold(shm::Segment{}, 1s, ec), 0u);
  EXPECT_EQ(ec, Errc::not_attached);
  EXPECT_THROW((void)client.hold(shm::Segment{}), shm::Error);

  // A fork()ed child maps the parent's segment, but its reference is the parent's to hold.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::error_code child_ec;
    const std::uint64_t token = client.hold(v.segment(), 1s, child_ec);
    ::_exit(token == 0 && child_ec == Errc::not_attached ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(counts(client, "v"), (std::pair<long, long>{1, 0}));
}

TEST(Hold, HoldsAreBoundedPerUid) {
  DaemonProcess daemon({"--max-holds-per-uid", "3"});
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("many", 1);
  std::vector<std::uint64_t> tokens;
  for (int i = 0; i < 3; ++i) tokens.push_back(client.hold(v.segment(), 60s));
  std::error_code ec;
  EXPECT_EQ(client.hold(v.segment(), 60s, ec), 0u);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  EXPECT_NE(shm::last_error_message().find("max-holds-per-uid"), std::string::npos) << shm::last_error_message();

  // A claimed hold stops counting.
  auto claimed = client.claim_value<int>("many", tokens[0]);
  EXPECT_NE(client.hold(v.segment(), 60s), 0u);
  EXPECT_EQ(counts(client, "many"), (std::pair<long, long>{5, 3}));
}

TEST(Hold, ShmctlInfoShowsHolds) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("shown", 1);
  (void)client.hold(v.segment(), 60s);
  const auto json = run({SHMCTL_BIN, "--socket", daemon.socket_path(), "info", "shown", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"refcount\": 2"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"holds\": 1"), std::string::npos) << json.out;
  const auto text = run({SHMCTL_BIN, "--socket", daemon.socket_path(), "info", "shown"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("holds:"), std::string::npos) << text.out;
}

// Under a service manager: what the fd store keeps of a segment whose only reference is a hold.

TEST(HoldService, AnExpiredHoldTakesTheEphemeralSegmentOutOfTheFdStore) {
  shm::test::ServiceManager sm;
  ASSERT_NO_FATAL_FAILURE(sm.start());
  ASSERT_NE(send_and_exit(sm.socket_path(), "stored", 2, 1), 0u);
  shm::Client observer(sm.socket_path());
  EXPECT_TRUE(eventually([&] { return gone(observer, "stored"); }, 15s)) << sm.log();
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 0u);
}

TEST(HoldService, HoldsEndWithARestartAndTheEphemeralSegmentGoesAfterTheGrace) {
  shm::test::ServiceManager sm({"--restore-grace", "0.2"});
  ASSERT_NO_FATAL_FAILURE(sm.start());
  const std::uint64_t token = send_and_exit(sm.socket_path(), "across", 2, 600);
  ASSERT_NE(token, 0u);
  {
    shm::Client observer(sm.socket_path());
    ASSERT_TRUE(eventually([&] { return counts(observer, "across") == std::pair<long, long>{1, 1}; }));
  }
  sm.kill9();
  ASSERT_NO_FATAL_FAILURE(sm.start());
  shm::Client observer(sm.socket_path());
  EXPECT_TRUE(eventually([&] { return gone(observer, "across"); })) << "holds are not restored: " << sm.log();
  sm.drain();
  EXPECT_EQ(sm.stored("seg-"), 0u) << "nothing leaks in the fd store";
}

}  // namespace
