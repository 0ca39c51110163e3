// Typecode 'u' (a 4-byte wchar_t, as Python's) through daemon, libshmclient and shmctl, and
// Segment::lock_for against a lock held by another process.

#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "shm/shm.hpp"

namespace {

using namespace std::chrono_literals;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::run;

/// shmctl --socket SOCKET args...
std::vector<std::string> shmctl(const DaemonProcess& daemon, std::vector<std::string> args) {
  args.insert(args.begin(), {SHMCTL_BIN, "--socket", daemon.socket_path()});
  return args;
}

TEST(TypecodeU, AWcharValueRoundTripsThroughTheDaemonAndShmctl) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<wchar_t>("wide", static_cast<wchar_t>(0xe9));
  EXPECT_EQ(v.info().typecode, 'u');
  EXPECT_EQ(v.info().element_size, 4U);
  auto got = run(shmctl(daemon, {"get", "wide"}));
  EXPECT_EQ(got.out, "'\xc3\xa9'\n");
  got = run(shmctl(daemon, {"get", "wide", "--json"}));
  EXPECT_EQ(got.out, "\"\xc3\xa9\"\n");
  ASSERT_EQ(run(shmctl(daemon, {"set", "wide", "\\U0001f600"})).exit_code, 0);
  EXPECT_EQ(v.load(), static_cast<wchar_t>(0x1f600));
  EXPECT_NE(run(shmctl(daemon, {"set", "wide", "ab"})).exit_code, 0) << "one character only";
  EXPECT_EQ(v.load(), static_cast<wchar_t>(0x1f600));
  std::error_code ec;
  client.attach_value<int>("wide", ec);
  EXPECT_EQ(ec, shm::Errc::type_mismatch) << "an int has the size of a wchar_t, not its class";
}

TEST(TypecodeU, ShmctlCreatesWcharArrays) {
  DaemonProcess daemon;
  ASSERT_EQ(run(shmctl(daemon, {"create", "letters", "--type", "u", "--init", "h,\xc3\xa9,\\x2c"})).exit_code, 0);
  shm::Client client(daemon.socket_path());
  auto a = client.attach_array<wchar_t>("letters");
  ASSERT_EQ(a.size(), 3U);
  EXPECT_EQ(a[0], L'h');
  EXPECT_EQ(a[1], static_cast<wchar_t>(0xe9));
  EXPECT_EQ(a[2], L',');
  EXPECT_EQ(run(shmctl(daemon, {"get", "letters"})).out, "['h', '\xc3\xa9', ',']\n");
}

TEST(SegmentLockFor, TimesOutOnALockAnotherProcessHoldsAndRecoversItWhenThatProcessDies) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("timed", 0);
  ChildProcess holder({SHM_TEST_PEER_BIN, daemon.socket_path(), "lock-and-wait", "timed"});
  ASSERT_EQ(holder.read_line(), "locked");
  std::error_code ec;
  auto guard = v.lock_for(20ms, ec);
  EXPECT_FALSE(ec) << "a timeout is no error";
  EXPECT_FALSE(guard.owns_lock());
  holder.kill(SIGKILL);
  holder.wait();
  guard = v.lock_for(30s, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(guard.owns_lock());
  EXPECT_TRUE(guard.owner_died());
}

TEST(SegmentLockFor, RefusesReadOnlyAndDetachedSegments) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("ro", 0);
  auto ro = client.attach_value<const int>("ro");
  std::error_code ec;
  EXPECT_FALSE(ro.segment().lock_for(1s, ec).owns_lock());
  EXPECT_EQ(ec, shm::Errc::permission_denied);
  v.detach();
  EXPECT_FALSE(v.segment().lock_for(1s, ec).owns_lock());
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
  EXPECT_THROW(v.segment().lock_for(1s), shm::Error);
}

}  // namespace
