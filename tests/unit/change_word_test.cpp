// shm::change_word::wait()'s poll before it sleeps: how long, on what CPU, and that a change made
// while it polls ends the wait without a sleep. On a header in this process's memory (the word's
// protocol is the same wherever it is mapped; tests/integration/wait_test.cpp has the processes).

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "eventually.hpp"
#include "shm/busy_poll.hpp"
#include "shm/change_word.hpp"

namespace {

using namespace std::chrono_literals;
namespace cw = shm::change_word;

/// Sets the process's wait poll window for one test, and puts the previous one back.
class ScopedPoll {
 public:
  explicit ScopedPoll(std::chrono::microseconds window) : previous_(cw::busy_poll()) { cw::set_busy_poll(window); }
  ScopedPoll(const ScopedPoll&) = delete;
  ScopedPoll& operator=(const ScopedPoll&) = delete;
  ~ScopedPoll() { cw::set_busy_poll(previous_); }

 private:
  std::chrono::microseconds previous_;
};

std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

long voluntary_switches() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

/// What one wait on a fresh thread saw and spent.
struct Waited {
  shm::WaitResult result{};
  std::chrono::nanoseconds cpu{};
  std::chrono::nanoseconds wall{};
  long sleeps = 0;  ///< voluntary context switches during the wait: a futex sleep is one
};

/// Waits on `header` for a change after the count it has now, on a new thread (whose affinity
/// `on_one_cpu` pins to the first CPU it may use), for at most `timeout`.
Waited wait_on_a_thread(shm::SegmentHeader& header, std::chrono::nanoseconds timeout, bool on_one_cpu = false) {
  Waited w;
  std::thread t([&] {
    if (on_one_cpu) {
      cpu_set_t all;
      ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
      cpu_set_t one;
      CPU_ZERO(&one);
      for (std::size_t cpu = 0; cpu < std::size_t{CPU_SETSIZE}; ++cpu)
        if (CPU_ISSET(cpu, &all)) {
          CPU_SET(cpu, &one);
          break;
        }
      ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);  // this thread only
    }
    std::error_code ec;
    const std::uint32_t seen = cw::watched_count(header, true, {}, ec);
    ASSERT_FALSE(ec);
    const auto cpu_before = thread_cpu();
    const long switches_before = voluntary_switches();
    const auto start = std::chrono::steady_clock::now();
    w.result = cw::wait(header, seen, timeout, true, {}, ec);
    w.wall = std::chrono::steady_clock::now() - start;
    w.cpu = thread_cpu() - cpu_before;
    w.sleeps = voluntary_switches() - switches_before;
    ASSERT_FALSE(ec);
  });
  t.join();
  return w;
}

bool several_cpus() {
  cpu_set_t cpus;
  return ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1;
}

TEST(ChangeWordPoll, TheWindowIsClampedAndDefaultsToAClientsReplyPoll) {
  EXPECT_EQ(cw::busy_poll(), shm::kDefaultBusyPoll);
  {
    const ScopedPoll poll(std::chrono::duration_cast<std::chrono::microseconds>(1h));
    EXPECT_EQ(cw::busy_poll(), shm::kMaxBusyPoll);
  }
  {
    const ScopedPoll poll(-5us);
    EXPECT_EQ(cw::busy_poll(), 0us);
  }
  EXPECT_EQ(cw::busy_poll(), shm::kDefaultBusyPoll);
}

TEST(ChangeWordPoll, AWaitPollsForItsWindowBeforeItSleeps) {
  if (!several_cpus()) GTEST_SKIP() << "one CPU: a wait never polls here";
  alignas(64) shm::SegmentHeader header{};
  {
    const ScopedPoll poll(shm::kMaxBusyPoll);  // 10 ms, of a 20 ms wait
    const Waited w = wait_on_a_thread(header, 20ms);
    EXPECT_EQ(w.result.status, shm::WaitStatus::timed_out);
    EXPECT_GE(w.cpu, 5ms) << "it polled";
    EXPECT_GE(w.wall, 20ms);
    EXPECT_LT(w.wall, 28ms) << "the poll is part of the timeout, not added to it";
  }
  {
    const ScopedPoll poll(0us);
    const Waited w = wait_on_a_thread(header, 20ms);
    EXPECT_EQ(w.result.status, shm::WaitStatus::timed_out);
    EXPECT_LT(w.cpu, 3ms) << "it slept at once";
    EXPECT_GE(w.sleeps, 1);
  }
}

TEST(ChangeWordPoll, AThreadThatMayUseOneCpuOnlyDoesNotPoll) {
  const ScopedPoll poll(shm::kMaxBusyPoll);
  alignas(64) shm::SegmentHeader header{};
  const Waited w = wait_on_a_thread(header, 20ms, /*on_one_cpu=*/true);
  EXPECT_EQ(w.result.status, shm::WaitStatus::timed_out);
  EXPECT_LT(w.cpu, 3ms) << "polling there could only delay the writer";
}

TEST(ChangeWordPoll, AChangeMadeWhileItPollsEndsTheWaitWithoutASleep) {
  if (!several_cpus()) GTEST_SKIP() << "one CPU: a wait never polls here";
  const ScopedPoll poll(shm::kMaxBusyPoll);  // 10 ms
  alignas(64) shm::SegmentHeader header{};
  std::atomic<clockid_t> waiter_clock{0};
  std::atomic<bool> waiting{false};
  Waited w;
  std::thread waiter([&] {
    clockid_t clock{};
    ASSERT_EQ(::pthread_getcpuclockid(::pthread_self(), &clock), 0);
    waiter_clock = clock;
    std::error_code ec;
    const std::uint32_t seen = cw::watched_count(header, true, {}, ec);
    const long switches_before = voluntary_switches();
    waiting = true;
    w.result = cw::wait(header, seen, 5s, true, {}, ec);
    w.sleeps = voluntary_switches() - switches_before;
  });
  // Notify once the waiter has spent 1 ms of CPU inside wait(): it can only do that polling.
  ASSERT_TRUE(shm::test::eventually([&] { return waiting.load(); }));
  auto cpu_of_waiter = [&] {
    timespec ts{};
    ::clock_gettime(waiter_clock.load(), &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  const auto at_start = cpu_of_waiter();
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (cpu_of_waiter() - at_start < 1ms && std::chrono::steady_clock::now() < give_up) shm::cpu_relax();
  EXPECT_GE(cpu_of_waiter() - at_start, 1ms) << "the waiter never polled";
  cw::notify(header.changes);
  waiter.join();
  EXPECT_EQ(w.result.status, shm::WaitStatus::changed);
  EXPECT_EQ(w.result.changes, 1u);
  EXPECT_EQ(w.sleeps, 0) << "the change came within the window: no futex sleep";
}

}  // namespace
