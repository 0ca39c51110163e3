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
#include <string>
#include <thread>

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
    EXPECT_GE(w.cpu, 2ms) << "it polled (the CPU time of a wait that sleeps at once is some microseconds)";
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

/// One try of the test below: a waiter on a fresh header, notified once it has spent 200 us of CPU
/// inside wait() (which it can only spend polling). What it saw, and whether it got that far.
struct PollTry {
  Waited waited;
  bool polled = false;  ///< the waiter had spent 200 us of CPU in wait() when the notify came
};

PollTry notify_while_it_polls() {
  alignas(64) shm::SegmentHeader header{};
  std::atomic<clockid_t> waiter_clock{0};
  std::atomic<bool> waiting{false};
  PollTry t;
  std::thread waiter([&] {
    clockid_t clock{};
    if (::pthread_getcpuclockid(::pthread_self(), &clock) != 0) ADD_FAILURE() << "pthread_getcpuclockid";
    waiter_clock = clock;
    std::error_code ec;
    const std::uint32_t seen = cw::watched_count(header, true, {}, ec);
    const long switches_before = voluntary_switches();
    waiting = true;
    t.waited.result = cw::wait(header, seen, 5s, true, {}, ec);
    t.waited.sleeps = voluntary_switches() - switches_before;
  });
  auto cpu_of_waiter = [&] {
    timespec ts{};
    ::clock_gettime(waiter_clock.load(), &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  // This thread looks every 20 us and sleeps in between, leaving the CPUs to the waiter.
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!waiting && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(20us);
  const auto at_start = cpu_of_waiter();
  while (cpu_of_waiter() - at_start < 200us && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(20us);
  t.polled = cpu_of_waiter() - at_start >= 200us;
  cw::notify(header.changes);
  waiter.join();
  return t;
}

// On CPUs that something else wants too, the waiter can be kept off them for its whole window
// (it then sleeps and is woken, which is right, but shows nothing): up to three tries.
TEST(ChangeWordPoll, AChangeMadeWhileItPollsEndsTheWaitWithoutASleep) {
  if (!several_cpus()) GTEST_SKIP() << "one CPU: a wait never polls here";
  const ScopedPoll poll(shm::kMaxBusyPoll);  // 10 ms
  std::string tries;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const PollTry t = notify_while_it_polls();
    EXPECT_EQ(t.waited.result.status, shm::WaitStatus::changed);
    EXPECT_EQ(t.waited.result.changes, 1u);
    if (t.polled && t.waited.sleeps == 0) return;  // the change came within the window: no futex sleep
    tries += " [polled 200 us: " + std::string(t.polled ? "yes" : "no") +
             ", sleeps: " + std::to_string(t.waited.sleeps) + "]";
  }
  ADD_FAILURE() << "in three tries no waiter took a change made while it polled without a sleep:" << tries;
}

}  // namespace
