// robust_fast::lock_for, the timed lock under Segment::lock_for (and Python's acquire(timeout=)):
// pthread_mutex_clocklock's results, in wait_for()'s slices, mixed freely with lock()/unlock().
// Also built into the fallback tests (SHM_ROBUST_FAST=0), where every call is glibc's.

#include <pthread.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <thread>

#include "shm/robust_mutex.hpp"
#include "shm/robust_mutex_fast.hpp"

namespace {

namespace fast = shm::robust_fast;
using namespace std::chrono_literals;

/// A segment-style mutex (robust, recursive, process-shared) in this process's memory.
class SegmentMutex {
 public:
  SegmentMutex() { ok_ = !shm::init_robust_mutex(m_); }
  SegmentMutex(const SegmentMutex&) = delete;
  SegmentMutex& operator=(const SegmentMutex&) = delete;
  ~SegmentMutex() { ::pthread_mutex_destroy(&m_); }
  [[nodiscard]] bool ok() const { return ok_; }
  pthread_mutex_t& get() { return m_; }

 private:
  pthread_mutex_t m_{};
  bool ok_ = false;
};

/// Holds `m` on a thread of its own until release() (or destruction).
class Holder {
 public:
  explicit Holder(pthread_mutex_t& m)
      : thread_([this, &m] {
          locked_.set_value(fast::lock(m));
          release_.get_future().wait();
          fast::unlock(m);
        }) {
    rc_ = locked_.get_future().get();
  }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  ~Holder() {
    release();
    thread_.join();
  }
  [[nodiscard]] int lock_result() const { return rc_; }
  void release() {
    if (!released_.exchange(true)) release_.set_value();
  }

 private:
  std::promise<int> locked_;
  std::promise<void> release_;
  std::atomic<bool> released_{false};
  int rc_ = -1;
  std::thread thread_;
};

TEST(RobustLockFor, TakesAFreeLockAndRelocksRecursively) {
  SegmentMutex m;
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(fast::lock_for(m.get(), 1s), 0);
  EXPECT_TRUE(fast::held_by_this_thread(m.get()));
  EXPECT_EQ(fast::lock_for(m.get(), 0ns), 0) << "a recursive re-lock needs no wait";
  EXPECT_EQ(fast::unlock(m.get()), 0);
  EXPECT_TRUE(fast::held_by_this_thread(m.get())) << "one level is still held";
  EXPECT_EQ(fast::unlock(m.get()), 0);
  EXPECT_FALSE(fast::held_by_this_thread(m.get()));
}

TEST(RobustLockFor, TimesOutWhileAnotherThreadHoldsTheLock) {
  SegmentMutex m;
  ASSERT_TRUE(m.ok());
  Holder holder(m.get());
  ASSERT_EQ(holder.lock_result(), 0);
  EXPECT_EQ(fast::lock_for(m.get(), 0ns), ETIMEDOUT) << "zero only tries";
  EXPECT_EQ(fast::lock_for(m.get(), -5ms), ETIMEDOUT);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(fast::lock_for(m.get(), 30ms), ETIMEDOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms) << "it waits the whole timeout";
  EXPECT_FALSE(fast::held_by_this_thread(m.get()));
}

TEST(RobustLockFor, AWaitLongerThanOneSliceEndsAtItsTimeout) {
  SegmentMutex m;
  ASSERT_TRUE(m.ok());
  Holder holder(m.get());
  ASSERT_EQ(holder.lock_result(), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(fast::lock_for(m.get(), 250ms), ETIMEDOUT);  // the wait sleeps in slices of 100 ms
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST(RobustLockFor, GetsTheLockWhenTheHolderLetsGoDuringTheWait) {
  SegmentMutex m;
  ASSERT_TRUE(m.ok());
  Holder holder(m.get());
  ASSERT_EQ(holder.lock_result(), 0);
  auto waiter = std::async(std::launch::async, [&] {
    const int rc = fast::lock_for(m.get(), 60s);
    if (rc == 0) fast::unlock(m.get());
    return rc;
  });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout) << "it waits while the lock is held";
  holder.release();
  EXPECT_EQ(waiter.get(), 0);
}

TEST(RobustLockFor, ReportsADeadOwnerAsLockDoes) {
  SegmentMutex m;
  ASSERT_TRUE(m.ok());
  std::thread([&] { (void)fast::lock(m.get()); }).join();  // exits holding it
  std::error_code ec;
  EXPECT_EQ(shm::settle_robust_lock(m.get(), fast::lock_for(m.get(), 1s), ec), shm::LockState::owner_died);
  EXPECT_FALSE(ec);
  EXPECT_EQ(fast::unlock(m.get()), 0);
  EXPECT_EQ(fast::lock_for(m.get(), 1s), 0) << "consistent again";
  EXPECT_EQ(fast::unlock(m.get()), 0);
}

}  // namespace
