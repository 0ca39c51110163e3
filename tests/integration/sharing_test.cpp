// Sharing between processes: a real shmd on a per-test temporary socket and real client processes
// (shm-test-peer) that see one segment's memory, and a fork()ed child's own connection.

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::peer_command;
using shm::test::refcount;
using shm::test::run;

TEST(Sharing, SeparateProcessSeesWritesInBothDirections) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<double>("shared.value", 1.25);

  ChildProcess other(peer_command(daemon.socket_path(), {"double-session", "shared.value"}));
  ASSERT_EQ(other.read_line(), "attached");
  other.write_line("get");
  EXPECT_EQ(other.read_line(), "1.25");

  v.store(2.5);  // this process writes, the other sees it
  other.write_line("get");
  EXPECT_EQ(other.read_line(), "2.5");

  other.write_line("set 3.75");  // the other writes, this process sees it
  ASSERT_EQ(other.read_line(), "ok");
  EXPECT_EQ(v.load(), 3.75);

  other.close_stdin();
  EXPECT_EQ(other.wait().exit_code, 0);

  // One-shot processes, attaching by name after the first one left.
  const auto wrote = run(peer_command(daemon.socket_path(), {"write-double", "shared.value", "-0.5"}));
  EXPECT_EQ(wrote.exit_code, 0) << wrote.err;
  EXPECT_EQ(v.load(), -0.5);
  v.store(6.0625);
  const auto read = run(peer_command(daemon.socket_path(), {"read-double", "shared.value"}));
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out, "6.0625\n");
}

TEST(Sharing, ArraySharedWithAnotherProcessIsTheSameMemory) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto mine = client.create_array<int>("squares", 10);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<int>(i * i);

  // Another process's handle to the same name sees the same bytes.
  shm::Client second(daemon.socket_path());
  auto theirs = second.attach_array<int>("squares");
  ASSERT_EQ(theirs.size(), 10U);
  EXPECT_TRUE(std::equal(mine.begin(), mine.end(), theirs.begin()));
  theirs[3] = -1;
  EXPECT_EQ(mine[3], -1);
}

TEST(Sharing, LockSerializesIncrementsAcrossProcesses) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto counter = client.create_value<int>("counter", 0);
  constexpr int kPerProcess = 20000;
  ChildProcess a(peer_command(daemon.socket_path(), {"add-int", "counter", std::to_string(kPerProcess)}));
  ChildProcess b(peer_command(daemon.socket_path(), {"add-int", "counter", std::to_string(kPerProcess)}));
  for (int i = 0; i < kPerProcess; ++i) {
    auto guard = counter.lock();
    ++counter.get();
  }
  EXPECT_EQ(a.read_line(), "done");
  EXPECT_EQ(b.read_line(), "done");
  EXPECT_EQ(a.wait().exit_code, 0);
  EXPECT_EQ(b.wait().exit_code, 0);
  EXPECT_EQ(counter.load(), 3 * kPerProcess);
}

// ---------------------------------------------------------------------------------------------
// fork()

TEST(Sharing, ForkedChildGetsItsOwnConnection) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("forked", 1);
  auto target = client.create_value<int>("target", 0);
  target.detach();
  ASSERT_EQ(refcount(client, "forked"), 1);

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Never return into gtest here: report by exit code only.
    int code = 0;
    try {
      std::error_code ec;
      auto w = client.attach_value<int>("target", ec);
      if (ec) ::_exit(10);
      w.store(42);
      const auto info = client.info("target", ec);
      if (ec) ::_exit(11);
      if (info.refcount != 1) ::_exit(12);
      v.detach();  // the inherited handle only unmaps; the parent's reference stays
      if (client.info("forked", ec).refcount != 1 || ec) ::_exit(13);
      client.list(ec);
      if (ec) ::_exit(14);
    } catch (...) {
      code = 20;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the exit codes in the child's branch";

  // The parent's stream is intact: its next requests succeed and see the child's work.
  EXPECT_EQ(client.attach_value<int>("target").load(), 42);
  EXPECT_EQ(client.list().size(), 2U);
  EXPECT_TRUE(eventually([&] { return refcount(client, "target") == 0; }))
      << "the child's reference went with its connection";
  EXPECT_EQ(refcount(client, "forked"), 1);
  EXPECT_EQ(v.load(), 1);
}

}  // namespace
