// What a real shmd refuses: invalid names, typecodes, kinds and lengths, and its configured
// limits (name length, segment count, segment and total bytes), after which it keeps serving.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "daemon_process.hpp"
#include "raw_client.hpp"
#include "requests.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"

namespace {

using shm::Errc;
using shm::test::attach_request;
using shm::test::DaemonProcess;
using shm::test::error_of;
using shm::test::gone;
using shm::test::RawClient;

TEST(Limits, InvalidNamesAreRefused) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  for (const std::string& bad :
       {std::string(), std::string(256, 'n'), std::string("a/b"), std::string("a b"), std::string("caf\xc3\xa9")}) {
    std::error_code ec;
    client.create_value<int>(bad, 0, {}, ec);
    EXPECT_EQ(ec, Errc::invalid_argument) << '"' << bad << '"';
    EXPECT_FALSE(shm::last_error_message().empty());
  }
  // Straight to the daemon, past any check in the client library.
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  for (const std::string& bad : {std::string(256, 'n'), std::string("../etc"), std::string("nul\0x", 5)}) {
    shmd::v1::Request r;
    auto* c = r.mutable_create();
    c->set_name(bad);
    c->set_typecode("i");
    c->set_kind(shmd::v1::VALUE);
    c->set_length(1);
    const auto reply = raw.call(r);
    EXPECT_EQ(error_of(reply), shmd::v1::INVALID_ARGUMENT) << bad;
    if (reply) {
      EXPECT_TRUE(reply->second.empty()) << "an error reply carries no fd";
    }
  }
  auto fine = client.create_value<int>(std::string(255, 'n'));
  EXPECT_EQ(client.list().size(), 1U);
}

TEST(Limits, BadTypecodesKindsAndLengthsAreRefused) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  struct Case {
    std::string typecode;
    shmd::v1::Kind kind;
    std::uint64_t length;
  };
  for (const Case& c :
       {Case{"x", shmd::v1::VALUE, 1}, Case{"", shmd::v1::VALUE, 1}, Case{"ii", shmd::v1::VALUE, 1},
        Case{"i", shmd::v1::KIND_UNSPECIFIED, 1}, Case{"i", shmd::v1::VALUE, 2}, Case{"i", shmd::v1::ARRAY, 0}}) {
    shmd::v1::Request r;
    auto* create = r.mutable_create();
    create->set_name("bad");
    create->set_typecode(c.typecode);
    create->set_kind(c.kind);
    create->set_length(c.length);
    const auto reply = raw.call(r);
    EXPECT_EQ(error_of(reply), shmd::v1::INVALID_ARGUMENT)
        << "typecode '" << c.typecode << "' kind " << c.kind << " length " << c.length;
  }
  // Sizes that overflow, and initial contents of the wrong size.
  shmd::v1::Request huge;
  huge.mutable_create()->set_name("huge");
  huge.mutable_create()->set_typecode("d");
  huge.mutable_create()->set_kind(shmd::v1::ARRAY);
  huge.mutable_create()->set_length(std::numeric_limits<std::uint64_t>::max() / 2);
  EXPECT_EQ(error_of(raw.call(huge)), shmd::v1::LIMIT_EXCEEDED) << "a byte size past 64 bits is past max-segment-bytes";
  shmd::v1::Request wrong_initial;
  wrong_initial.mutable_create()->set_name("init");
  wrong_initial.mutable_create()->set_typecode("i");
  wrong_initial.mutable_create()->set_kind(shmd::v1::VALUE);
  wrong_initial.mutable_create()->set_length(1);
  wrong_initial.mutable_create()->set_initial("abc");
  EXPECT_EQ(error_of(raw.call(wrong_initial)), shmd::v1::INVALID_ARGUMENT);

  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty()) << "nothing was created by the refused requests";
}

TEST(Limits, MaxNameLengthIsEnforced) {
  DaemonProcess daemon({"--max-name-length", "8"});
  shm::Client client(daemon.socket_path());
  auto ok = client.create_value<int>("12345678");
  std::error_code ec;
  client.create_value<int>("123456789", 0, {}, ec);
  EXPECT_EQ(ec, Errc::invalid_argument);
  EXPECT_NE(shm::last_error_message().find('8'), std::string::npos) << shm::last_error_message();
  // On the wire, too long is INVALID_ARGUMENT whichever limit it passes (this daemon's 8 or the
  // protocol's 255), in every request that carries a name, even one that only looks it up.
  RawClient raw(daemon.socket_path());
  for (const std::string& name : {std::string(9, 'n'), std::string(256, 'n'), std::string(60000, 'n')}) {
    SCOPED_TRACE(name.size());
    shmd::v1::Request create;
    create.mutable_create()->set_name(name);
    create.mutable_create()->set_typecode("i");
    create.mutable_create()->set_kind(shmd::v1::VALUE);
    create.mutable_create()->set_length(1);
    EXPECT_EQ(error_of(raw.call(create)), shmd::v1::INVALID_ARGUMENT);
    shmd::v1::Request info;
    info.mutable_info()->set_name(name);
    EXPECT_EQ(error_of(raw.call(info)), shmd::v1::INVALID_ARGUMENT) << "not NOT_FOUND";
    EXPECT_EQ(error_of(raw.call(attach_request(name))), shmd::v1::INVALID_ARGUMENT);
  }
}

TEST(Limits, MaxSegmentsRefusesTheNextCreateAndKeepsServing) {
  DaemonProcess daemon({"--max-segments", "3"});
  shm::Client client(daemon.socket_path());
  auto a = client.create_value<int>("s1");
  auto b = client.create_value<int>("s2");
  auto c = client.create_value<int>("s3");
  std::error_code ec;
  client.create_value<int>("s4", 0, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  EXPECT_FALSE(shm::last_error_message().empty());

  EXPECT_EQ(client.list().size(), 3U);  // still serving
  c.detach();
  client.remove("s3");
  auto d = client.create_value<int>("s4", 0, {}, ec);
  EXPECT_FALSE(ec) << "a freed slot can be used again: " << shm::last_error_message();
  EXPECT_TRUE(daemon.running());
}

TEST(Limits, MaxSegmentBytesLimitsOneSegment) {
  DaemonProcess daemon({"--max-segment-bytes", "1024"});
  shm::Client client(daemon.socket_path());
  std::error_code ec;
  auto fits = client.create_array<double>("fits", 128, {}, ec);  // exactly 1024 data bytes
  EXPECT_FALSE(ec) << shm::last_error_message();
  client.create_array<double>("too.big", 129, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  client.create_array<char>("too.big", 1025, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  EXPECT_TRUE(gone(client, "too.big"));
}

TEST(Limits, MaxTotalBytesCountsEveryLiveSegment) {
  DaemonProcess daemon({"--max-total-bytes", "4096"});
  shm::Client client(daemon.socket_path());
  std::error_code ec;
  auto a = client.create_array<char>("a", 1500, {}, ec);
  ASSERT_FALSE(ec) << shm::last_error_message();
  auto b = client.create_array<char>("b", 1500, {}, ec);
  ASSERT_FALSE(ec) << shm::last_error_message();
  client.create_array<char>("c", 1500, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);

  // A removed segment still counts while it is attached, and stops counting when freed.
  client.remove("a");
  client.create_array<char>("c", 1500, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded) << "the removed segment is still mapped by its holder";
  a.detach();
  auto c = client.create_array<char>("c", 1500, {}, ec);
  EXPECT_FALSE(ec) << shm::last_error_message();
}

}  // namespace
