// shm::usable_busy_poll(): the window both ends actually use.

#include <sched.h>

#include <gtest/gtest.h>

#include <chrono>

#include "shm/busy_poll.hpp"

namespace {

using namespace std::chrono_literals;

TEST(BusyPoll, WindowsAreClampedToZeroAndTheMaximum) {
  cpu_set_t cpus;
  ASSERT_EQ(::sched_getaffinity(0, sizeof cpus, &cpus), 0);
  if (CPU_COUNT(&cpus) < 2) GTEST_SKIP() << "one CPU: every window is zero here";
  EXPECT_EQ(shm::usable_busy_poll(0us), 0us);
  EXPECT_EQ(shm::usable_busy_poll(-5us), 0us);
  EXPECT_EQ(shm::usable_busy_poll(shm::kDefaultBusyPoll), shm::kDefaultBusyPoll);
  EXPECT_EQ(shm::usable_busy_poll(shm::kMaxBusyPoll), shm::kMaxBusyPoll);
  EXPECT_EQ(shm::usable_busy_poll(std::chrono::duration_cast<std::chrono::microseconds>(1h)), shm::kMaxBusyPoll);
}

TEST(BusyPoll, IsOffWhereOnlyOneCpuIsUsable) {
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  constexpr std::size_t kCpus = CPU_SETSIZE;
  for (std::size_t cpu = 0; cpu < kCpus; ++cpu) {
    if (CPU_ISSET(cpu, &saved)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const auto on_one = shm::usable_busy_poll(50us);
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(on_one, 0us);
  if (CPU_COUNT(&saved) > 1) {
    EXPECT_EQ(shm::usable_busy_poll(50us), 50us);
  }
}

}  // namespace
