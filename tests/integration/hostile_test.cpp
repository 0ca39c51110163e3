// Hostile input on the socket: malformed frames, bad field values, random and mutated frames,
// fds sent to the daemon, stuck clients and connection caps (and, in MalformedInput, each kind
// of broken frame against a daemon of its own). Afterwards the daemon must still
// serve a well-behaved client, with its data unchanged and no descriptor leaked.

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "raw_client.hpp"
#include "requests.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::test::eventually;

namespace pb = shmd::v1;
using namespace std::chrono_literals;
using shm::test::attach_request;
using shm::test::create_request;
using shm::test::DaemonProcess;
using shm::test::error_of;
using shm::test::frame;
using shm::test::hello_request;
using shm::test::RawClient;
using shm::test::refcount;
using shm::test::varint;

/// Waits until the daemon holds at most `expected` fds; returns the last count seen. "At most":
/// one socket the daemon holds at the baseline goes away later by itself (see the report to the lead).
std::size_t settle_fds(const DaemonProcess& daemon, std::size_t expected) {
  std::size_t now = 0;
  eventually([&] { return (now = daemon.open_fds()) <= expected; });
  return now;
}

/// A request naming `name`: attach (0), info (1), remove (2) or chmod to 0600 (3).
pb::Request named(const std::string& name, int which) {
  switch (which) {
    case 0: return shm::test::attach_request(name);
    case 1: return shm::test::info_request(name);
    case 2: return shm::test::remove_request(name);
    default: return shm::test::chmod_request(name, 0600);
  }
}

/// Ends the sending side, so the daemon sees EOF once it has read everything.
void finish_sending(RawClient& c) { ::shutdown(c.fd(), SHUT_WR); }

/// Reads replies until the daemon closes the connection; every reply must be a valid Response.
/// Returns how many came.
std::size_t drain(RawClient& c) {
  std::size_t n = 0;
  while (c.receive(10s)) ++n;
  EXPECT_TRUE(c.closed_by_peer(10s)) << "the daemon did not close a connection that sent EOF";
  return n;
}

/// A daemon with one segment made before any hostile traffic, and a well-behaved client.
class HostileTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    daemon_ = std::make_unique<DaemonProcess>(std::move(args));
    client_ = std::make_unique<shm::Client>(daemon_->socket_path());
    keep_ = client_->create_value<double>("keep", 42.5);
    keep_array_ = client_->create_array<int>("keep-array", std::vector<int>{1, 2, 3, 4});
    baseline_fds_ = daemon_->open_fds();
  }
  void SetUp() override { start(); }

  /// The daemon still serves a fresh well-behaved client, sees the old data, and leaks no fd.
  void expect_unharmed() {
    ASSERT_TRUE(daemon_->running()) << daemon_->log();
    shm::Client fresh(daemon_->socket_path());
    EXPECT_EQ(fresh.attach_value<double>("keep").load(), 42.5);
    auto a = fresh.attach_array<int>("keep-array");
    EXPECT_EQ(std::vector<int>(a.begin(), a.end()), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(keep_.load(), 42.5);
    fresh.create_value<int>("after", 7);
    fresh.remove("after");
    // Whatever hostile creates succeeded (root may create) is removed, so the fd count can match.
    for (const auto& s : client_->list())
      if (s.name != "keep" && s.name != "keep-array" && !s.removed) client_->remove(s.name);
    a = {};
    EXPECT_LE(settle_fds(*daemon_, baseline_fds_ + 1), baseline_fds_ + 1)
        << "the daemon holds other fds than before (the +1 is `fresh`'s connection)";
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<shm::Client> client_;
  shm::Value<double> keep_;
  shm::Array<int> keep_array_;
  std::size_t baseline_fds_ = 0;
};

TEST_F(HostileTest, BrokenFramesGetProtocolErrorAndTheConnectionIsClosed) {
  const std::map<std::string, std::string> broken = {
      {"varint longer than 10 bytes", std::string(11, '\x80') + "\x01"},
      {"10-byte varint announcing 2^64-1 bytes", varint(std::numeric_limits<std::uint64_t>::max()) + "abc"},
      {"10-byte varint past 64 bits (wraps to 0)", std::string(9, '\x80') + "\x02" + "abc"},
      {"length one over 64 KiB", varint(shm::wire::kMaxFrameBytes + 1) + std::string(32, 'x')},
      {"length 2^63", varint(std::uint64_t{1} << 63)},
      {"payload that is not protobuf", frame("\xff\xff\xff\xff\xff\xff")},
      {"field cut short", frame("\x5a\x10\x0a")},
      {"field number 0", frame(std::string("\x08\x02\x05\x00", 4))},
      {"string field of invalid UTF-8", frame(std::string("\x72\x04\x0a\x02\xc3\x28", 6))},
      {"valid frame then oversized frame", frame(hello_request().SerializeAsString()) + varint(1u << 20)},
  };
  for (const auto& [what, bytes] : broken) {
    SCOPED_TRACE(what);
    RawClient c(daemon_->socket_path());
    ASSERT_TRUE(c.send_bytes(bytes));
    std::optional<RawClient::Reply> reply;
    // Replies to whole frames before the broken one may come first.
    for (reply = c.receive(10s); reply && reply->first.error().code() != pb::PROTOCOL_ERROR; reply = c.receive(10s)) {
    }
    ASSERT_TRUE(reply) << "no error reply before the close";
    EXPECT_EQ(reply->first.error().code(), pb::PROTOCOL_ERROR) << reply->first.ShortDebugString();
    EXPECT_FALSE(reply->first.error().message().empty());
    EXPECT_TRUE(reply->second.empty()) << "an error reply carried an fd";
    EXPECT_TRUE(c.closed_by_peer(10s)) << "the connection stayed open after PROTOCOL_ERROR";
  }
  expect_unharmed();
}

TEST_F(HostileTest, ProtocolErrorRepliesCarryRequestIdZeroAfterTheRepliesBeforeThem) {
  pb::Request hello = hello_request();
  hello.set_request_id(41);
  for (const std::string& broken : {frame("\xff\xff\xff"), varint(shm::wire::kMaxFrameBytes + 1)}) {
    RawClient c(daemon_->socket_path());
    ASSERT_TRUE(c.send_bytes(frame(hello.SerializeAsString()) + broken));
    auto first = c.receive(10s);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->first.request_id(), 41u);
    EXPECT_FALSE(first->first.has_error());
    auto error = c.receive(10s);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->first.error().code(), pb::PROTOCOL_ERROR);
    EXPECT_EQ(error->first.request_id(), 0u) << "the daemon cannot know the broken frame's id";
    EXPECT_EQ(error->first.body_case(), pb::Response::BODY_NOT_SET);
    EXPECT_TRUE(c.closed_by_peer(10s));
  }
  expect_unharmed();
}

TEST_F(HostileTest, PaddedLengthPrefixesUpToTenBytesAreAccepted) {
  // Redundant continuation bytes are a valid varint (protobuf reads them): a frame whose length
  // is written in 2..10 bytes is served like any other, and the connection stays open.
  RawClient c(daemon_->socket_path());
  std::string bytes;
  for (std::uint64_t pad = 1; pad <= 9; ++pad) {
    pb::Request r = hello_request();
    r.set_request_id(100 + pad);
    const std::string payload = r.SerializeAsString();
    ASSERT_LT(payload.size(), 0x80u);
    std::string prefix(1, static_cast<char>(payload.size() | 0x80));
    prefix += std::string(pad - 1, '\x80');
    prefix += '\x00';
    ASSERT_EQ(prefix.size(), pad + 1);
    bytes += prefix + payload;
  }
  ASSERT_TRUE(c.send_bytes(bytes));
  for (std::uint64_t pad = 1; pad <= 9; ++pad) {
    SCOPED_TRACE(pad + 1);
    auto reply = c.receive(10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->first.request_id(), 100 + pad);
    EXPECT_TRUE(reply->first.has_hello()) << reply->first.ShortDebugString();
  }
  EXPECT_TRUE(c.hello());
}

TEST_F(HostileTest, VersionMismatchLeavesTheConnectionOpenAndUnchanged) {
  RawClient c(daemon_->socket_path());
  auto refused = c.call(hello_request(2));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->first.error().code(), pb::VERSION_MISMATCH);
  EXPECT_FALSE(refused->first.has_hello());
  // The same connection may try again and then work as any other.
  EXPECT_TRUE(c.hello());
  auto attached = c.call(named("keep", 0));
  ASSERT_TRUE(attached);
  EXPECT_FALSE(attached->first.has_error()) << attached->first.ShortDebugString();
  EXPECT_EQ(attached->second.size(), 1u);
}

TEST_F(HostileTest, TruncatedFramesThenCloseLeaveNoTrace) {
  const std::string hello = frame(hello_request());
  const std::string create = frame(create_request("half", "d", pb::VALUE, 1));
  for (const std::string& whole : {hello, create}) {
    for (std::size_t cut = 1; cut < whole.size(); ++cut) {
      RawClient c(daemon_->socket_path());
      ASSERT_TRUE(c.send_bytes(std::string_view(whole).substr(0, cut)));
      finish_sending(c);
      EXPECT_EQ(drain(c), 0u) << "a reply to " << cut << " of " << whole.size() << " bytes";
    }
  }
  std::error_code ec;
  client_->info("half", ec);
  EXPECT_EQ(ec, shm::Errc::not_found) << "a truncated create took effect";
  expect_unharmed();
}

TEST_F(HostileTest, BadFieldValuesGetInvalidArgumentAndTheConnectionStaysOpen) {
  struct Case {
    std::string what;
    pb::Request request;
    std::set<pb::ErrorCode> expected;
  };
  const std::set<pb::ErrorCode> invalid = {pb::INVALID_ARGUMENT};
  // A byte size that overflows is over max-segment-bytes too: LIMIT_EXCEEDED, as the protocol says.
  const std::set<pb::ErrorCode> too_big = {pb::LIMIT_EXCEEDED};
  // Names are checked before they are looked up: a bad one is never NOT_FOUND.
  const std::set<pb::ErrorCode> no_such = {pb::INVALID_ARGUMENT};
  std::vector<Case> cases = {
      {"unknown typecode", create_request("x", "x", pb::VALUE, 1), invalid},
      {"empty typecode", create_request("x", "", pb::VALUE, 1), invalid},
      {"multi-char typecode", create_request("x", "id", pb::VALUE, 1), invalid},
      {"NUL typecode", create_request("x", std::string(1, '\0'), pb::VALUE, 1), invalid},
      {"kind unspecified", create_request("x", "i", pb::KIND_UNSPECIFIED, 1), invalid},
      {"kind out of range", create_request("x", "i", static_cast<pb::Kind>(77), 1), invalid},
      {"Value of length 2", create_request("x", "i", pb::VALUE, 2), invalid},
      {"Value of length 0", create_request("x", "i", pb::VALUE, 0), invalid},
      {"Array of length 0", create_request("x", "i", pb::ARRAY, 0), invalid},
      {"byte size overflows", create_request("x", "d", pb::ARRAY, std::uint64_t{1} << 61), too_big},
      {"length 2^64-1", create_request("x", "d", pb::ARRAY, std::numeric_limits<std::uint64_t>::max()), too_big},
      {"length 2^63 (negative as int64)", create_request("x", "b", pb::ARRAY, std::uint64_t{1} << 63), too_big},
      {"over max-segment-bytes", create_request("x", "d", pb::ARRAY, std::uint64_t{1} << 40), {pb::LIMIT_EXCEEDED}},
      {"name with /", create_request("a/b", "i", pb::VALUE, 1), invalid},
      {"name with NUL", create_request(std::string("a\0b", 3), "i", pb::VALUE, 1), invalid},
      {"name of 300 characters", create_request(std::string(300, 'n'), "i", pb::VALUE, 1), invalid},
      {"empty name", create_request("", "i", pb::VALUE, 1), invalid},
      {"name with a space", create_request("a b", "i", pb::VALUE, 1), invalid},
      {"mode 01000", create_request("x", "i", pb::VALUE, 1, 01000), invalid},
      {"mode 0xffffffff", create_request("x", "i", pb::VALUE, 1, 0xffffffffu), invalid},
      {"initial of 3 bytes for a double", create_request("x", "d", pb::VALUE, 1, 0, "abc"), invalid},
      {"initial of 9 bytes for 2 ints", create_request("x", "i", pb::ARRAY, 2, 0, std::string(9, 'z')), invalid},
      {"attach name with /", named("../keep", 0), no_such},
      {"attach name with NUL", named(std::string("keep\0", 5), 0), no_such},
      {"info name of 300 characters", named(std::string(300, 'k'), 1), no_such},
      {"remove name with /", named("/keep", 2), no_such},
      {"chmod name with NUL", named(std::string("\0keep", 5), 3), no_such},
      {"no body", pb::Request(), invalid},
  };
  {
    cases.push_back({"chmod to 04755", shm::test::chmod_request("keep", 04755), invalid});
    cases.push_back({"chmod to 0xffffffff", shm::test::chmod_request("keep", 0xffffffffu), invalid});
    cases.push_back({"detach of id 2^64-1",
                     shm::test::detach_request(std::numeric_limits<std::uint64_t>::max()),
                     {pb::NOT_ATTACHED}});
    cases.push_back({"detach of a segment this connection never attached",
                     shm::test::detach_request(keep_.info().id),
                     {pb::NOT_ATTACHED}});
    cases.push_back({"reattach of id 2^64-1",
                     shm::test::reattach_request(std::numeric_limits<std::uint64_t>::max(), 0),
                     {pb::NOT_FOUND}});
    cases.push_back({"hello of version 2^32-1", hello_request(0xffffffffu), {pb::VERSION_MISMATCH}});
  }

  // All pipelined on one connection: each gets its own error reply, in order, and no fd.
  RawClient c(daemon_->socket_path());
  std::string all;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    cases[i].request.set_request_id(1000 + i);
    all += frame(cases[i].request.SerializeAsString());
  }
  all += frame("");                                      // an empty Request: no body
  all += frame(std::string("\x08\x07\xa2\x06\x00", 5));  // request 7, unknown field 100
  ASSERT_TRUE(c.send_bytes(all));
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    auto reply = c.receive(10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->first.request_id(), k.request.request_id());
    ASSERT_TRUE(reply->first.has_error()) << reply->first.ShortDebugString();
    EXPECT_TRUE(k.expected.contains(reply->first.error().code())) << reply->first.error().ShortDebugString();
    EXPECT_FALSE(reply->first.error().message().empty());
    EXPECT_EQ(reply->first.body_case(), pb::Response::BODY_NOT_SET);
    EXPECT_TRUE(reply->second.empty()) << "an error reply carried an fd";
  }
  for (const char* what : {"empty frame", "unknown oneof case"}) {
    SCOPED_TRACE(what);
    auto reply = c.receive(10s);
    ASSERT_TRUE(reply);
    ASSERT_TRUE(reply->first.has_error());
    EXPECT_EQ(reply->first.error().code(), pb::INVALID_ARGUMENT);
  }
  EXPECT_TRUE(c.hello()) << "the connection should stay usable after field errors";
  EXPECT_EQ(client_->list().size(), 2u) << "a refused create left a segment behind";
  EXPECT_EQ(client_->info("keep").mode, 0600u) << "a refused chmod changed the mode";
  finish_sending(c);  // hang up, so the fd count below is comparable with the baseline
  EXPECT_TRUE(c.closed_by_peer(10s));
  expect_unharmed();
}

/// Random requests: every body case (and an unknown one) with field values drawn to hit edges.
class RandomRequests {
 public:
  explicit RandomRequests(std::uint32_t seed) : rng_(seed) {}

  /// One frame: a random request, often with a few bytes flipped, sometimes pure noise.
  std::string frame_bytes() {
    for (;;) {
      std::string payload = request().SerializeAsString();
      switch (pick(6)) {
        case 0:  // flip a few bytes
          for (int i = pick(4) + 1; i > 0 && !payload.empty(); --i)
            payload[static_cast<std::size_t>(pick(static_cast<int>(payload.size())))] = static_cast<char>(pick(256));
          break;
        case 1:  // pure noise
          payload = noise(static_cast<std::size_t>(pick(120)));
          break;
        default: break;
      }
      // The barrage runs as root, who may remove or chmod anything: a flipped tag must not turn
      // an attach of "keep" into a legitimate remove of it.
      if (!touches_kept_segments(payload)) return frame(payload);
    }
  }

  std::string noise(std::size_t n) {
    std::string s(n, '\0');
    for (char& ch : s) ch = static_cast<char>(pick(256));
    return s;
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  std::string name() {
    static const std::array<std::string, 10> names = {
        "keep", "keep-array", "r1", "r2", "a/b", std::string("a\0b", 3), std::string(300, 'n'), "", "..", "x y"};
    return names[static_cast<std::size_t>(pick(static_cast<int>(names.size())))];
  }
  /// True for what would harm the segments the test checks afterwards, or stall the daemon.
  static bool touches_kept_segments(const std::string& payload) {
    pb::Request r;
    if (!r.ParseFromString(payload)) return false;
    if (r.has_reattach() && r.reattach().references() > 1000) return true;  // see ReattachWithAHugeReference...
    const std::string* name = r.has_remove() ? &r.remove().name() : r.has_chmod() ? &r.chmod().name() : nullptr;
    return name != nullptr && (*name == "keep" || *name == "keep-array");
  }
  /// Names a random remove or chmod may use: never the segments the test checks afterwards.
  std::string expendable_name() {
    static const std::array<std::string, 4> names = {"r1", "r2", "a/b", std::string(300, 'n')};
    return names[static_cast<std::size_t>(pick(static_cast<int>(names.size())))];
  }
  std::uint64_t number() {
    static const std::array<std::uint64_t, 8> edges = {
        0, 1, 2, 255, 65536, std::uint64_t{1} << 32, std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max()};
    return pick(2) == 0 ? edges[static_cast<std::size_t>(pick(8))] : static_cast<std::uint64_t>(pick(100));
  }
  pb::Request request() {
    static const std::array<std::string, 8> typecodes = {"i", "d", "b", "Q", "", "x", "id", std::string(1, '\0')};
    pb::Request r;
    r.set_request_id(number());
    switch (pick(10)) {
      case 0: r.mutable_hello()->set_protocol_version(static_cast<std::uint32_t>(pick(3))); break;
      case 1: {
        auto* c = r.mutable_create();
        c->set_name(name());
        c->set_typecode(typecodes[static_cast<std::size_t>(pick(8))]);
        c->set_kind(static_cast<pb::Kind>(pick(4)));
        c->set_length(pick(3) == 0 ? number() : static_cast<std::uint64_t>(pick(4)));
        c->set_mode(pick(2) == 0 ? static_cast<std::uint32_t>(number()) : static_cast<std::uint32_t>(pick(01000)));
        c->set_ephemeral(pick(2) == 0);
        c->set_open_existing(pick(2) == 0);
        if (pick(3) == 0) c->set_initial(noise(static_cast<std::size_t>(pick(40))));
        break;
      }
      case 2:
        r.mutable_attach()->set_name(name());
        r.mutable_attach()->set_read_only(pick(2) == 0);
        break;
      case 3: r.mutable_detach()->set_id(number()); break;
      case 4: r.mutable_remove()->set_name(expendable_name()); break;
      case 5:
        r.mutable_list()->set_after_name(name());
        r.mutable_list()->set_after_id(number());
        r.mutable_list()->set_limit(static_cast<std::uint32_t>(pick(5)));
        break;
      case 6: r.mutable_info()->set_name(name()); break;
      case 7:
        // Small reference counts only: huge ones are their own test (ReattachWithAHugeReference...).
        r.mutable_reattach()->set_id(number());
        r.mutable_reattach()->set_references(static_cast<std::uint32_t>(pick(4)));
        break;
      case 8:
        r.mutable_chmod()->set_name(expendable_name());
        r.mutable_chmod()->set_mode(static_cast<std::uint32_t>(number()));
        break;
      default: break;  // no body
    }
    return r;
  }

  std::mt19937 rng_;
};

TEST_F(HostileTest, HundredsOfRandomFramesLeaveDataAndDescriptorsUnchanged) {
  constexpr std::uint32_t kSeed = 20240611;
  RandomRequests random(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  std::size_t frames = 0;
  // One frame per fresh connection.
  for (int i = 0; i < 300; ++i) {
    RawClient c(daemon_->socket_path());
    const std::string bytes =
        random.pick(10) == 0 ? random.noise(static_cast<std::size_t>(random.pick(64))) : random.frame_bytes();
    if (!c.send_bytes(bytes)) continue;  // the daemon may already have refused a broken prefix
    finish_sending(c);
    drain(c);
    ++frames;
  }
  // Many frames pipelined on one connection, sometimes ending in noise or half a frame.
  for (int i = 0; i < 30; ++i) {
    RawClient c(daemon_->socket_path());
    std::string bytes;
    const int n = 5 + random.pick(30);
    for (int k = 0; k < n; ++k) bytes += random.frame_bytes();
    if (random.pick(3) == 0) bytes += random.noise(static_cast<std::size_t>(random.pick(20)));
    if (random.pick(3) == 0) bytes += varint(100) + "half";
    frames += static_cast<std::size_t>(n);
    (void)c.send_bytes(bytes);
    finish_sending(c);
    drain(c);
  }
  EXPECT_GE(frames, 600u);
  expect_unharmed();
}

TEST_F(HostileTest, AttachRepliesQueuedBehindAFullSocketStillCarryTheRightSegment) {
  // Thousands of attaches sent at once, none read until all are sent: the daemon's replies fill
  // the socket, so most fds wait with their reply. Each must still be the segment it names.
  constexpr int kRequests = 2000;
  {
    RawClient greedy(daemon_->socket_path());
    ASSERT_TRUE(greedy.hello());
    std::string bytes;
    for (int i = 0; i < kRequests; ++i) {
      pb::Request r = named(i % 2 == 0 ? "keep" : "keep-array", 0);
      r.set_request_id(static_cast<std::uint64_t>(i) + 100);
      bytes += frame(r.SerializeAsString());
    }
    ASSERT_TRUE(greedy.send_bytes(bytes));
    for (int i = 0; i < kRequests; ++i) {
      auto reply = greedy.receive(30s);
      ASSERT_TRUE(reply) << "reply " << i << " never came";
      auto& [response, fds] = *reply;
      ASSERT_FALSE(response.has_error()) << response.error().message();
      ASSERT_EQ(response.request_id(), static_cast<std::uint64_t>(i) + 100);
      ASSERT_EQ(fds.size(), 1u) << "reply " << i;
      const auto& info = response.attach().segment();
      if (i % 2 == 0) {
        double v = 0;
        ASSERT_EQ(::pread(fds[0].get(), &v, sizeof v, static_cast<off_t>(info.data_offset())), ssize_t{sizeof v});
        ASSERT_EQ(v, 42.5) << "reply " << i << " carried another segment's fd";
      } else {
        std::array<int, 4> a{};
        ASSERT_EQ(::pread(fds[0].get(), a.data(), sizeof a, static_cast<off_t>(info.data_offset())), ssize_t{sizeof a});
        ASSERT_EQ(a, (std::array<int, 4>{1, 2, 3, 4})) << "reply " << i << " carried another segment's fd";
      }
    }
  }
  // Closing the connection gave back all 2,000 references.
  EXPECT_TRUE(eventually([&] { return client_->info("keep").refcount == 1; }));
  expect_unharmed();
}

/// Sends a Hello frame with `fds` attached as SCM_RIGHTS.
bool send_hello_with_fds(int socket, const std::vector<int>& fds) {
  pb::Request r = hello_request();
  r.set_request_id(5);
  std::string bytes = frame(r);
  iovec iov{bytes.data(), bytes.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

TEST_F(HostileTest, DescriptorsSentToTheDaemonAreDiscardedNotKept) {
  for (int i = 0; i < 40; ++i) {
    RawClient c(daemon_->socket_path());
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    shm::UniqueFd read_end(p[0]);
    shm::UniqueFd write_end(p[1]);
    shm::UniqueFd memfd(::memfd_create("hostile", MFD_CLOEXEC));
    shm::UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(memfd && devnull);
    ASSERT_TRUE(send_hello_with_fds(c.fd(), {write_end.get(), memfd.get(), devnull.get()}));
    auto reply = c.receive(10s);
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->first.has_error()) << reply->first.ShortDebugString();
    EXPECT_TRUE(reply->second.empty());
    // If the daemon kept the pipe's write end, its read end would never see EOF.
    write_end.reset();
    pollfd pfd{read_end.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 5000), 1) << "the daemon holds the write end of a pipe a client sent it";
    EXPECT_TRUE(pfd.revents & POLLHUP);
    if (i % 2 == 0) {
      // Keep the connection open while checking the count: only its socket may be new.
      EXPECT_LE(settle_fds(*daemon_, baseline_fds_ + 1), baseline_fds_ + 1);
    }
  }
  expect_unharmed();
}

TEST_F(HostileTest, ReattachWithAHugeReferenceCountDoesNotStallTheDaemon) {
  // Reattach adds `references` one at a time; 2^32-1 of them must not block everyone else (and
  // must not wrap the 32-bit reference count of a segment somebody else holds).
  RawClient attacker(daemon_->socket_path());
  pb::Request r = shm::test::reattach_request(keep_.info().id, std::numeric_limits<std::uint32_t>::max());
  r.set_request_id(1);
  ASSERT_TRUE(attacker.send_request(r));
  RawClient bystander(daemon_->socket_path());
  ASSERT_TRUE(bystander.send_request(hello_request()));
  const auto started = std::chrono::steady_clock::now();
  // The refusal comes before any loop, so only a stall takes seconds; 10 s leaves a loaded
  // machine's scheduling (a sanitizer build, parallel tests) out of it.
  const auto reply = bystander.receive(10s);
  EXPECT_TRUE(reply) << "another client waited more than 10 s for a Hello while the daemon served one Reattach";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  if (!reply) {
    // The daemon is busy for minutes: do not wait for it in the teardown.
    daemon_->stop(SIGKILL);
    keep_ = shm::Value<double>();  // `= {}` would store 0.0
    keep_array_ = {};
    client_.reset();
    return;
  }
  auto answer = attacker.receive(30s);
  ASSERT_TRUE(answer);
  // A daemon that did not restart has no references to hand back: the count stays as it was.
  EXPECT_EQ(answer->first.error().code(), pb::NOT_ATTACHED) << answer->first.ShortDebugString();
  EXPECT_EQ(client_->info("keep").refcount, 1u);
}

class StuckClientTest : public HostileTest {
 protected:
  void SetUp() override { start({"--frame-timeout", "1"}); }
};

TEST_F(StuckClientTest, StuckClientsAreDisconnectedAndDoNotBlockOthers) {
  std::vector<std::unique_ptr<RawClient>> stuck;
  const std::string hello = frame(hello_request());
  for (int i = 0; i < 40; ++i) {
    auto& c = stuck.emplace_back(std::make_unique<RawClient>(daemon_->socket_path()));
    // Half a frame: a prefix announcing more than follows, or just part of a valid frame.
    ASSERT_TRUE(c->send_bytes(i % 2 == 0 ? varint(100) + "abc" : hello.substr(0, hello.size() / 2)));
  }
  // Served while they hang.
  const auto started = std::chrono::steady_clock::now();
  shm::Client other(daemon_->socket_path());
  EXPECT_EQ(other.attach_value<double>("keep").load(), 42.5);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms) << "stuck clients delayed a well-behaved one";
  for (auto& c : stuck) EXPECT_TRUE(c->closed_by_peer(10s)) << "a stuck client was never disconnected";
  EXPECT_NE(daemon_->log().find("frame incomplete"), std::string::npos);
  stuck.clear();
  EXPECT_LE(settle_fds(*daemon_, baseline_fds_ + 1), baseline_fds_ + 1) << "+1: `other`'s connection";
}

TEST_F(StuckClientTest, TrickleFedFrameIsCutOffAtTheFrameTimeout) {
  // Slow loris: a byte every 100 ms keeps the frame incomplete; the deadline runs from its start.
  RawClient c(daemon_->socket_path());
  const std::string bytes = varint(200) + std::string(200, 'a');
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < bytes.size() && !closed; ++i) {
    if (!c.send_bytes(bytes.substr(i, 1))) break;
    closed = c.closed_by_peer(100ms);
  }
  EXPECT_TRUE(closed || c.closed_by_peer(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(StuckClientTest, FrameTimeoutClosesTheConnectionWithoutAReply) {
  RawClient c(daemon_->socket_path());
  ASSERT_TRUE(c.hello());
  ASSERT_TRUE(c.send_bytes(varint(100) + "abc"));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.receive(10s)) << "the timeout is silent: no PROTOCOL_ERROR, no other reply";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "receive() ended by EOF, not by its own timeout";
  EXPECT_TRUE(c.closed_by_peer(1s));
}

TEST_F(StuckClientTest, IdleConnectionWithoutAPartialFrameIsNotCutOff) {
  RawClient c(daemon_->socket_path());
  ASSERT_TRUE(c.hello());
  EXPECT_FALSE(c.closed_by_peer(2500ms)) << "only half-sent frames time out; idle ones are bounded by the caps";
  EXPECT_TRUE(c.hello());
}

TEST(HostileConnections, TotalConnectionCapRefusesTheEleventhWithLimitExceeded) {
  DaemonProcess daemon({"--max-connections", "10"});
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(std::make_unique<RawClient>(daemon.socket_path()));
    ASSERT_TRUE(held.back()->hello()) << "connection " << i;
  }
  RawClient eleventh(daemon.socket_path());
  auto reply = eleventh.receive(10s);
  ASSERT_TRUE(reply) << "a refused connection should be told why";
  ASSERT_TRUE(reply->first.has_error());
  EXPECT_EQ(reply->first.error().code(), pb::LIMIT_EXCEEDED);
  EXPECT_EQ(reply->first.request_id(), 0u) << "sent unasked";
  EXPECT_EQ(reply->first.body_case(), pb::Response::BODY_NOT_SET);
  EXPECT_NE(reply->first.error().message().find("max-connections"), std::string::npos)
      << reply->first.error().message();
  EXPECT_TRUE(eleventh.closed_by_peer(10s));
  // A slot comes back when a connection closes.
  held.pop_back();
  EXPECT_TRUE(eventually([&] {
    RawClient again(daemon.socket_path());
    if (!again.send_request(hello_request())) return false;
    auto r = again.receive(5s);
    return r && !r->first.has_error();
  }));
  for (auto& c : held) EXPECT_TRUE(c->hello()) << "held connections keep working";
}

TEST(HostileConnections, PerUidConnectionCapRefusesTheSixthButNotRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "the per-uid cap test runs a client as uid 65534 with setpriv: needs root";
  if (!std::filesystem::exists("/usr/bin/setpriv") && !std::filesystem::exists("/bin/setpriv"))
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  DaemonProcess daemon({"--max-connections-per-uid", "5"});
  std::filesystem::permissions(daemon.dir(), std::filesystem::perms(0755));
  const std::string probe = shm::test::copy_for_other_users(ACCESS_PROBE_BIN, daemon.dir().string());
  auto connect_as_nobody = [&](int n) {
    const auto r = shm::test::run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", probe,
                                   daemon.socket_path(), "connect", std::to_string(n)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (const auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    return out;
  };
  auto six = connect_as_nobody(6);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(six["conn" + std::to_string(i)], "ok") << i;
  EXPECT_EQ(six["conn5"], std::to_string(pb::LIMIT_EXCEEDED));
  // root is exempt from the per-uid cap.
  std::vector<std::unique_ptr<RawClient>> root;
  for (int i = 0; i < 8; ++i) {
    root.push_back(std::make_unique<RawClient>(daemon.socket_path()));
    EXPECT_TRUE(root.back()->hello());
  }
  // The probe's connections went with it; the uid may connect five times again.
  EXPECT_TRUE(eventually([&] { return connect_as_nobody(5)["conn4"] == "ok"; }, 20s));
}

// ---------------------------------------------------------------------------------------------
// Malformed input, one daemon per case: oversized, overlong and vanishing frames, garbage
// payloads, and what a protocol error reply carries.

TEST(MalformedInput, OversizeRequestFrameGetsProtocolErrorAndIsClosed) {
  DaemonProcess daemon;
  shm::Client bystander(daemon.socket_path());
  auto v = bystander.create_value<int>("bystander", 11);

  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  std::string frame;
  shm::wire::append_varint(frame, shm::wire::kMaxFrameBytes + 1);
  frame.append(shm::wire::kMaxFrameBytes + 1, 'x');
  raw.send_bytes(frame);  // may fail part way when the daemon closes first
  const auto reply = raw.receive(10s);
  EXPECT_EQ(error_of(reply), shmd::v1::PROTOCOL_ERROR) << (reply ? reply->first.ShortDebugString() : "no reply");
  if (reply) {
    EXPECT_FALSE(reply->first.error().message().empty());
  }
  EXPECT_TRUE(raw.closed_by_peer()) << "the daemon should close the connection";

  // Everybody else is served as before.
  EXPECT_EQ(refcount(bystander, "bystander"), 1);
  shm::Client newcomer(daemon.socket_path());
  EXPECT_EQ(newcomer.attach_value<int>("bystander").load(), 11);
  EXPECT_TRUE(daemon.running());
}

TEST(MalformedInput, RequestOfExactly64KiBIsAccepted) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  shmd::v1::Request r;
  r.set_request_id(77);
  std::size_t name_length = shm::wire::kMaxFrameBytes - 16;
  r.mutable_info()->set_name(std::string(name_length, 'n'));
  while (r.ByteSizeLong() != shm::wire::kMaxFrameBytes) {
    name_length = r.ByteSizeLong() > shm::wire::kMaxFrameBytes ? name_length - 1 : name_length + 1;
    r.mutable_info()->set_name(std::string(name_length, 'n'));
  }
  ASSERT_TRUE(raw.send_request(r));
  const auto reply = raw.receive(10s);
  // The reply itself must fit in a frame too, however long the name the request carried.
  ASSERT_TRUE(reply) << "no reply that fits in a 64 KiB frame";
  EXPECT_EQ(reply->first.request_id(), 77U);
  EXPECT_NE(error_of(reply), shmd::v1::PROTOCOL_ERROR) << "a 64 KiB frame is within the limit";
  EXPECT_TRUE(raw.hello()) << "the connection stays open";
}

TEST(MalformedInput, GarbageProtobufGetsAnErrorReplyAndTheDaemonLives) {
  DaemonProcess daemon;
  for (const std::string& garbage : {std::string("\x00\x01\x02", 3), std::string("\x0f"),
                                     std::string("\x5a\x10"
                                                 "abc",
                                                 5),
                                     std::string(100, '\xff')}) {
    RawClient raw(daemon.socket_path());
    std::string frame;
    shm::wire::append_frame(frame, garbage);
    ASSERT_TRUE(raw.send_bytes(frame));
    const auto reply = raw.receive(10s);
    ASSERT_TRUE(reply) << "no reply to garbage";
    EXPECT_TRUE(reply->first.has_error());
    EXPECT_EQ(reply->first.error().code(), shmd::v1::PROTOCOL_ERROR);
  }
  EXPECT_TRUE(daemon.running());
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
}

TEST(MalformedInput, RequestWithoutABodyGetsAnErrorReply) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  shmd::v1::Request empty;
  empty.set_request_id(5);
  ASSERT_TRUE(raw.send_request(empty));
  const auto reply = raw.receive(10s);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->first.has_error());
  EXPECT_EQ(reply->first.request_id(), 5U);
  EXPECT_TRUE(daemon.running());
}

TEST(MalformedInput, OverlongVarintPrefixGetsProtocolError) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.send_bytes(std::string(11, '\x80')));
  EXPECT_EQ(error_of(raw.receive(10s)), shmd::v1::PROTOCOL_ERROR);
  EXPECT_TRUE(raw.closed_by_peer());
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
}

TEST(MalformedInput, ClientVanishingMidFrameDoesNotDisturbTheDaemon) {
  DaemonProcess daemon;
  const std::size_t fds_before = daemon.open_fds();
  for (int i = 0; i < 20; ++i) {
    RawClient raw(daemon.socket_path());
    std::string frame;
    shm::wire::append_varint(frame, 1000);
    frame.append(10, 'x');
    raw.send_bytes(frame);
  }
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() <= fds_before + 1; }))
      << daemon.open_fds() << " fds, " << fds_before << " before + 1 client";
}

TEST(MalformedInput, ProtocolErrorsAreReportedWithTheirCodes) {
  DaemonProcess daemon;
  shm::Client other(daemon.socket_path());
  auto theirs = other.create_value<int>("theirs");

  {
    RawClient future(daemon.socket_path());
    shmd::v1::Request wrong_version;
    wrong_version.mutable_hello()->set_protocol_version(99);
    EXPECT_EQ(error_of(future.call(wrong_version)), shmd::v1::VERSION_MISMATCH);
  }
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());

  shmd::v1::Request detach;
  detach.mutable_detach()->set_id(theirs.info().id);
  EXPECT_EQ(error_of(raw.call(detach)), shmd::v1::NOT_ATTACHED) << "this connection holds no reference";
  EXPECT_EQ(refcount(other, "theirs"), 1);

  EXPECT_EQ(error_of(raw.call(attach_request("missing"))), shmd::v1::NOT_FOUND);
  shmd::v1::Request info;
  info.set_request_id(1234);
  info.mutable_info()->set_name("missing");
  const auto reply = raw.call(info);
  EXPECT_EQ(error_of(reply), shmd::v1::NOT_FOUND);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->first.request_id(), 1234U);
  EXPECT_EQ(reply->first.body_case(), shmd::v1::Response::BODY_NOT_SET) << "an error reply has no body";
}

}  // namespace
