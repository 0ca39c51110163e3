// Waiting for changes: a real shmd, and waiters in other processes (shm-test-peer) that sleep on
// a segment's change word until this process writes, or the segment is removed. A peer takes its
// count before it prints "waiting", so a write made after that line is one it must not miss.

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "proc_task.hpp"
#include "segment_queries.hpp"
#include "shm/change_word.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::peer_command;

/// The header of a segment mapped in this process.
shm::SegmentHeader& header_of(shm::Segment& segment) {
  return *reinterpret_cast<shm::SegmentHeader*>(segment.bytes().data() - segment.info().data_offset);
}

std::uint32_t word_of(shm::Segment& segment) {
  return std::atomic_ref<std::uint32_t>(header_of(segment).changes).load();
}

/// True while process `pid` (single-threaded) is blocked in a shared FUTEX_WAIT (as change_word
/// sleeps) expecting a word with count 0 and bit 0 set: a waiter asleep on a fresh segment's
/// watched word. Where the kernel does not tell (no /proc/PID/syscall), true: the caller has
/// already seen bit 0 set.
bool asleep_on_watched_word(pid_t pid) {
  const auto call = shm::test::blocked_syscall("/proc/" + std::to_string(pid) + "/syscall");
  if (!call) return true;
  return call->number == SYS_futex && call->args[1] == FUTEX_WAIT && call->args[2] == shm::change_word::kWatched;
}

TEST(Wait, WaiterInAnotherProcessWakesAfterAStore) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.store", 0);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.store", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 0");
  v.store(7);
  EXPECT_EQ(waiter.read_line(), "changed 7");
  EXPECT_EQ(waiter.wait().exit_code, 0);
}

TEST(Wait, WaiterInAnotherProcessWakesAfterAnAtomicAdd) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.add", 10);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.add", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 10");
  v.fetch_add(5);
  EXPECT_EQ(waiter.read_line(), "changed 15");
}

TEST(Wait, WaiterInAnotherProcessWakesWhenALockedUpdateIsReleased) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.locked", 0);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.locked", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 0");
  {
    auto guard = v.lock();
    v.get() = 9;  // a plain write: the guard's release is what tells the waiter
  }
  EXPECT_EQ(waiter.read_line(), "changed 9");
}

// The guard notifies after its unlock, and a Segment dropped while its lock is held unmaps after
// that unlock: the notify must come between the two, or it would read memory no longer mapped.
TEST(Wait, AReleaseWakesTheWaiterWhenTheHandleWasDroppedWhileTheLockWasHeld) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  std::optional<shm::Value<int>> v = client.create_value<int>("wait.dropped", 0);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.dropped", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 0");
  shm::LockGuard guard = v->lock();
  v->get() = 9;
  v.reset();  // the handle goes while this thread holds its lock: its mapping waits for the unlock
  guard.unlock();
  EXPECT_EQ(waiter.read_line(), "changed 9");
  EXPECT_EQ(waiter.wait().exit_code, 0);
}

TEST(Wait, ArrayWaiterWakesAfterNotifyFollowingRawWrites) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto a = client.create_array<int>("wait.array", 4);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-array", "wait.array", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 0");
  a[0] = 4;
  a.notify();
  EXPECT_EQ(waiter.read_line(), "changed 4");
}

TEST(Wait, WaiterTimesOutWhenNothingChanges) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.quiet", 3);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.quiet", "200", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 3");
  EXPECT_EQ(waiter.read_line(), "timed_out 3");
}

TEST(Wait, AFailedCompareExchangeIsNoChange) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.cas", 1);
  const std::uint32_t seen = v.changes();
  int expected = 2;
  EXPECT_FALSE(v.compare_exchange(expected, 3));
  EXPECT_EQ(v.wait(seen, std::chrono::milliseconds(0)).status, shm::WaitStatus::timed_out);
  EXPECT_TRUE(v.compare_exchange(expected, 3));
  const shm::WaitResult r = v.wait(seen, std::chrono::milliseconds(0));
  EXPECT_EQ(r.status, shm::WaitStatus::changed);
  EXPECT_NE(r.changes, seen);
}

TEST(Wait, ReadOnlyWaitersWakeAfterAStore) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.ro", 0, {.mode = 0644});
  auto a = client.create_array<int>("wait.ro.array", 2, {.mode = 0644});
  // PROT_READ mappings: a write to the change word would kill them with SIGSEGV.
  ChildProcess value_waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.ro", "-1", "ro"}));
  ChildProcess array_waiter(peer_command(daemon.socket_path(), {"wait-array", "wait.ro.array", "-1", "ro"}));
  ASSERT_EQ(value_waiter.read_line(), "waiting 0");
  ASSERT_EQ(array_waiter.read_line(), "waiting 0");
  v.store(11);
  {
    auto guard = a.lock();
    a[0] = 12;
  }
  EXPECT_EQ(value_waiter.read_line(), "changed 11");
  EXPECT_EQ(array_waiter.read_line(), "changed 12");
  EXPECT_EQ(value_waiter.wait().exit_code, 0);
  EXPECT_EQ(array_waiter.wait().exit_code, 0);
}

TEST(Wait, ReadOnlyWaiterTimesOutWhenNothingChanges) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.ro.quiet", 5, {.mode = 0644});
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.ro.quiet", "200", "ro"}));
  ASSERT_EQ(waiter.read_line(), "waiting 5");
  EXPECT_EQ(waiter.read_line(), "timed_out 5");
}

// A writer storing 1, 2, ... as fast as it can, and waiters that each go back to sleep after every
// change they see: the values they see only go up, and the last store always reaches them.
TEST(Wait, NoChangeIsLostUnderAWriterInATightLoop) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.tight", 0, {.mode = 0644});
  constexpr int kFinal = 200'000;
  const std::string final_text = std::to_string(kFinal);
  ChildProcess writable(peer_command(daemon.socket_path(), {"follow-int", "wait.tight", final_text, "rw"}));
  ChildProcess read_only(peer_command(daemon.socket_path(), {"follow-int", "wait.tight", final_text, "ro"}));
  ASSERT_EQ(writable.read_line(), "following");
  ASSERT_EQ(read_only.read_line(), "following");
  for (int i = 1; i <= kFinal; ++i) v.store(i);
  EXPECT_EQ(writable.read_line(), "reached " + final_text);
  EXPECT_EQ(read_only.read_line(), "reached " + final_text);
  EXPECT_EQ(writable.wait().exit_code, 0);
  EXPECT_EQ(read_only.wait().exit_code, 0);
}

// The worst moment to die: after moving the count (and clearing the watched bit), before the
// FUTEX_WAKE. Once the waiter is asleep on the word, a child does exactly that much of a notify by
// hand and is SIGKILLed; the waiter, still asleep on the old word, looks again within
// change_word::kLongestSleep and reports the change.
TEST(Wait, NotifierKilledBetweenCountAndWakeStrandsNobody) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.killed", 0);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-int", "wait.killed", "-1", "rw"}));
  ASSERT_EQ(waiter.read_line(), "waiting 0");
  ASSERT_TRUE(eventually([&] { return (word_of(v.segment()) & shm::change_word::kWatched) != 0; }));
  // Asleep, not only about to sleep: otherwise its FUTEX_WAIT would find the word moved and return
  // at once, and the test would show nothing about a wake that never comes.
  ASSERT_TRUE(eventually([&] { return asleep_on_watched_word(waiter.pid()); }))
      << "the waiter never went to sleep in FUTEX_WAIT on the watched word";

  const pid_t notifier = ::fork();
  ASSERT_GE(notifier, 0);
  if (notifier == 0) {
    shm::SegmentHeader& h = header_of(v.segment());
    std::atomic_ref<int>(*reinterpret_cast<int*>(h.value)).store(1);
    auto word = std::atomic_ref<std::uint32_t>(h.changes);
    std::uint32_t w = word.load();
    while (!word.compare_exchange_weak(w, w + 1)) {
    }
    ::raise(SIGKILL);  // no FUTEX_WAKE
  }
  int status = 0;
  ASSERT_EQ(::waitpid(notifier, &status, 0), notifier);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // The count moved once. (Bit 0 is no evidence either way: a waiter that has looked again since
  // sets it again before it reports.)
  EXPECT_EQ(shm::change_word::count_of(word_of(v.segment())), 1u);
  EXPECT_EQ(waiter.read_line(std::chrono::seconds(10)), "changed 1");
}

TEST(Wait, RemovedSegmentWakesItsWaitersWithTheNews) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.removed", 0, {.mode = 0644});
  ChildProcess writable(peer_command(daemon.socket_path(), {"wait-int", "wait.removed", "-1", "rw"}));
  ChildProcess read_only(peer_command(daemon.socket_path(), {"wait-int", "wait.removed", "-1", "ro"}));
  ASSERT_EQ(writable.read_line(), "waiting 0");
  ASSERT_EQ(read_only.read_line(), "waiting 0");
  client.remove("wait.removed");
  EXPECT_EQ(writable.read_line(), "removed 0");
  EXPECT_EQ(read_only.read_line(), "removed 0");
  // And a wait that starts after the removal says so at once.
  EXPECT_EQ(v.wait(v.changes(), std::chrono::seconds(30)).status, shm::WaitStatus::removed);
}

TEST(Wait, WaitForReturnsOnceThePredicateHolds) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("wait.for", 0);
  ChildProcess waiter(peer_command(daemon.socket_path(), {"wait-for-int", "wait.for", "3", "-1"}));
  ASSERT_EQ(waiter.read_line(), "waiting");
  v.store(1);
  v.store(2);
  v.fetch_add(1);
  EXPECT_EQ(waiter.read_line(), "changed 3");
  EXPECT_TRUE(v.wait_for([](int x) { return x == 3; }, std::chrono::milliseconds(0)));
  EXPECT_EQ(v.wait_for([](int x) { return x == 4; }, std::chrono::milliseconds(50)).status, shm::WaitStatus::timed_out);
}

TEST(Wait, WaitingOnADetachedHandleIsAnError) {
  shm::Segment empty;
  std::error_code ec;
  (void)empty.wait(0, std::chrono::milliseconds(1), ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
  (void)empty.changes(ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
}

}  // namespace
