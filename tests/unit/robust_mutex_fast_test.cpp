// robust_fast: the segment mutex's inline lock/unlock against glibc's own, across threads and
// real processes. What must hold: the same results as pthread_mutex_lock/unlock, free mixing with
// them, and a robust list the kernel can still walk when a thread or process dies.

#include <gnu/libc-version.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <future>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "proc_task.hpp"
#include "sanitizers.hpp"
#include "shm/busy_poll.hpp"
#include "shm/contention_backoff.hpp"
#include "shm/release_after_unlock.hpp"
#include "shm/robust_mutex.hpp"
#include "shm/robust_mutex_fast.hpp"

// Under ThreadSanitizer (the tsan preset): the unlocks these tests make on purpose by a thread
// that does not hold the mutex, to see EPERM, are exactly what TSan reports as `unlock of an
// unlocked mutex`. They go through unlock_not_held(), and only its reports are suppressed.
#ifdef SHM_TEST_TSAN  // from sanitizers.hpp
extern "C" const char* __tsan_default_suppressions() { return "mutex:unlock_not_held\n"; }
#endif

namespace {

namespace fast = shm::robust_fast;

/// An unlock by a thread that does not hold `m`, which must fail with EPERM: through
/// robust_fast::unlock, or glibc's own if `through_glibc`. (Its name is TSan's suppression.)
[[gnu::noinline]] int unlock_not_held(pthread_mutex_t& m, bool through_glibc = false) {
  return through_glibc ? ::pthread_mutex_unlock(&m) : fast::unlock(m);
}

constexpr int kMutexes = 6;

/// What the tests share between processes: a few segment-style mutexes (robust, recursive,
/// process-shared) and a glibc robust mutex of the plain kind, in one MAP_SHARED mapping.
struct Shared {
  std::array<pthread_mutex_t, kMutexes> m;
  pthread_mutex_t plain_robust;  ///< PTHREAD_MUTEX_ROBUST, normal kind: glibc-only calls
  std::uint64_t counter;         ///< guarded by m[0]
  int holder;                    ///< pid (or thread number) inside m[0]'s critical section, or 0
  std::atomic<int> violations;   ///< critical sections entered while another was inside
  std::atomic<int> stop;         ///< tells stress workers to finish
};

/// An anonymous MAP_SHARED mapping of one Shared, so fork()ed children use the same mutexes.
class SharedArea {
 public:
  SharedArea() {
    void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    area_ = new (p) Shared{};
    for (auto& m : area_->m)
      if (shm::init_robust_mutex(m)) return;
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
    ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int rc = ::pthread_mutex_init(&area_->plain_robust, &attr);
    ::pthread_mutexattr_destroy(&attr);
    ready_ = rc == 0;
  }
  SharedArea(const SharedArea&) = delete;
  SharedArea& operator=(const SharedArea&) = delete;
  ~SharedArea() {
    if (area_ != nullptr) ::munmap(area_, sizeof(Shared));
  }
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] Shared& get() const { return *area_; }
  Shared* operator->() const { return area_; }

 private:
  Shared* area_ = nullptr;  ///< the mapping
  bool ready_ = false;      ///< every mutex initialised
};

/// pthread_mutex_trylock from another thread: EBUSY while anybody holds `m`, then 0 (and it
/// releases again), EOWNERDEAD if the holder died.
int try_from_another_thread(pthread_mutex_t& m) {
  int rc = -1;
  std::thread([&] {
    rc = ::pthread_mutex_trylock(&m);
    if (rc == EOWNERDEAD) ::pthread_mutex_consistent(&m);
    if (rc == 0 || rc == EOWNERDEAD) ::pthread_mutex_unlock(&m);
  }).join();
  return rc;
}

/// Whether robust_fast should take its inline path here. This file is also built against the
/// fallback (-DSHM_ROBUST_FAST=0, shm_robust_fallback_tests), which never does.
bool running_the_mirrored_glibc() {
#if defined(SHM_ROBUST_FAST) && SHM_ROBUST_FAST == 0
  return false;
#elif defined(__x86_64__)
  return std::strcmp(::gnu_get_libc_version(), "2.36") == 0;
#else
  return false;
#endif
}

TEST(RobustFast, TakesTheInlinePathOnTheGlibcItMirrors) {
  // On Debian 12 (CI) every other test here exercises the inline path, not a fallback.
  EXPECT_EQ(fast::active(), running_the_mirrored_glibc()) << "glibc " << ::gnu_get_libc_version();
  bool in_thread = false;
  std::thread([&] { in_thread = fast::active(); }).join();
  EXPECT_EQ(in_thread, running_the_mirrored_glibc());
}

TEST(RobustFast, AHeldLockIsHeldForGlibcCallersToo) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];
  ASSERT_EQ(fast::lock(m), 0);
  EXPECT_EQ(try_from_another_thread(m), EBUSY);
  ASSERT_EQ(fast::unlock(m), 0);
  EXPECT_EQ(try_from_another_thread(m), 0);
}

TEST(RobustFast, RecursionCountsMixWithGlibcInEitherOrder) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];

  ASSERT_EQ(fast::lock(m), 0);
  ASSERT_EQ(::pthread_mutex_lock(&m), 0);  // one level deeper, through glibc
  ASSERT_EQ(fast::lock(m), 0);
  ASSERT_EQ(fast::unlock(m), 0);
  EXPECT_EQ(try_from_another_thread(m), EBUSY);
  ASSERT_EQ(::pthread_mutex_unlock(&m), 0);
  EXPECT_EQ(try_from_another_thread(m), EBUSY);
  ASSERT_EQ(fast::unlock(m), 0);
  EXPECT_EQ(try_from_another_thread(m), 0);

  ASSERT_EQ(::pthread_mutex_lock(&m), 0);
  ASSERT_EQ(fast::lock(m), 0);
  ASSERT_EQ(::pthread_mutex_unlock(&m), 0);
  EXPECT_EQ(try_from_another_thread(m), EBUSY);
  ASSERT_EQ(fast::unlock(m), 0);  // the outermost release, taken by glibc, given back inline
  EXPECT_EQ(try_from_another_thread(m), 0);
  EXPECT_EQ(unlock_not_held(m, true), EPERM) << "released twice";
}

TEST(RobustFast, OnlyTheOwnerMayUnlock) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];
  EXPECT_EQ(unlock_not_held(m), EPERM) << "nobody holds it";
  ASSERT_EQ(fast::lock(m), 0);
  int rc = -1;
  std::thread([&] { rc = unlock_not_held(m); }).join();
  EXPECT_EQ(rc, EPERM);
  EXPECT_EQ(fast::unlock(m), 0);
}

/// Locks (fast) m[0], m[1], m[2], m[3] and glibc's plain_robust in between, releases m[1] and
/// m[3] (from the middle and the head of the robust list), relocks m[3], and returns still
/// holding m[0], m[2], m[3] and plain_robust. Returns false if any call failed.
bool hold_a_shuffled_set(Shared& s) {
  bool ok = fast::lock(s.m[0]) == 0 && ::pthread_mutex_lock(&s.plain_robust) == 0;
  for (std::size_t i = 1; i < 4; ++i) ok = ok && fast::lock(s.m[i]) == 0;
  ok = ok && fast::unlock(s.m[1]) == 0 && fast::unlock(s.m[3]) == 0 && fast::lock(s.m[3]) == 0;
  ok = ok && fast::lock(s.m[2]) == 0 && fast::unlock(s.m[2]) == 0;  // recursion leaves it listed once
  return ok;
}

/// After the holder of hold_a_shuffled_set() died: exactly the mutexes it still held report
/// EOWNERDEAD (the kernel found them on the robust list), and every one can be repaired and used.
void expect_the_kernel_released_what_was_held(Shared& s) {
  const std::array<bool, kMutexes> held{true, false, true, true, false, false};
  for (std::size_t i = 0; i < s.m.size(); ++i) {
    SCOPED_TRACE("m[" + std::to_string(i) + "]");
    // trylock, so that a mutex the kernel failed to mark fails the test instead of hanging it.
    const int rc = ::pthread_mutex_trylock(&s.m[i]);
    ASSERT_EQ(rc, held[i] ? EOWNERDEAD : 0);
    if (rc == EOWNERDEAD) {
      EXPECT_EQ(::pthread_mutex_consistent(&s.m[i]), 0);
    }
    EXPECT_EQ(fast::unlock(s.m[i]), 0);
    EXPECT_EQ(fast::lock(s.m[i]), 0) << "usable after recovery";
    EXPECT_EQ(fast::unlock(s.m[i]), 0);
  }
  const int rc = ::pthread_mutex_trylock(&s.plain_robust);
  EXPECT_EQ(rc, EOWNERDEAD) << "glibc's own robust mutex, listed between ours";
  if (rc == EOWNERDEAD) ::pthread_mutex_consistent(&s.plain_robust);
  ::pthread_mutex_unlock(&s.plain_robust);
}

TEST(RobustFast, AThreadThatExitsHoldingLocksLeavesThemOwnerDied) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  bool ok = false;
  std::thread([&] { ok = hold_a_shuffled_set(s.get()); }).join();  // exits holding them
  ASSERT_TRUE(ok);
  expect_the_kernel_released_what_was_held(s.get());
}

TEST(RobustFast, AProcessKilledHoldingLocksLeavesThemOwnerDied) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!hold_a_shuffled_set(s.get())) ::_exit(1);
    ::raise(SIGKILL);
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  expect_the_kernel_released_what_was_held(s.get());
}

TEST(RobustFast, ALockNeverMadeConsistentBecomesNotRecoverable) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];
  std::thread([&] { (void)fast::lock(m); }).join();  // dies holding it
  ASSERT_EQ(fast::lock(m), EOWNERDEAD);
  EXPECT_EQ(fast::unlock(m), 0);              // released without pthread_mutex_consistent
  EXPECT_EQ(fast::lock(m), ENOTRECOVERABLE);  // as glibc: unusable from now on
  EXPECT_EQ(::pthread_mutex_lock(&m), ENOTRECOVERABLE);

  // try_lock reports it too, and (unlike glibc 2.36's trylock) does not keep the lock word, so
  // the mutex stays unrecoverable for everybody rather than locked for good by this thread.
  EXPECT_EQ(fast::try_lock(m), ENOTRECOVERABLE);
  EXPECT_FALSE(fast::held_by_this_thread(m));
  int elsewhere = -1;
  std::thread([&] { elsewhere = fast::try_lock(m); }).join();
  EXPECT_EQ(elsewhere, ENOTRECOVERABLE) << "not EBUSY";
  EXPECT_EQ(fast::lock(m), ENOTRECOVERABLE) << "not a recursive lock of a word left held";
}

/// A release action that counts its runs.
class CountRuns final : public fast::ReleaseAction {
 public:
  explicit CountRuns(std::atomic<int>& runs) : runs_(runs) {}
  void run() noexcept override { runs_.fetch_add(1); }

 private:
  std::atomic<int>& runs_;  ///< bumped by run()
};

/// One memfd page mapped twice: two addresses of the same mutexes, as two handles of one
/// segment in one process.
class TwoMappings {
 public:
  TwoMappings() {
    const int fd = ::memfd_create("robust-fast-test", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, sizeof(Shared)) != 0) return;
    for (auto*& view : views_) {
      void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      view = p == MAP_FAILED ? nullptr : static_cast<Shared*>(p);
    }
    ::close(fd);
    if (views_[0] != nullptr && views_[1] != nullptr) ready_ = !shm::init_robust_mutex(views_[0]->m[0]);
  }
  TwoMappings(const TwoMappings&) = delete;
  TwoMappings& operator=(const TwoMappings&) = delete;
  ~TwoMappings() {
    for (Shared* view : views_)
      if (view != nullptr) ::munmap(view, sizeof(Shared));
  }
  [[nodiscard]] bool ready() const { return ready_; }
  /// The mutex as seen through mapping `i`.
  pthread_mutex_t& mutex(std::size_t i) const { return views_[i]->m[0]; }

 private:
  std::array<Shared*, 2> views_{};  ///< the two mappings
  bool ready_ = false;              ///< both mapped, mutex initialised
};

TEST(RobustFast, AReleaseActionRunsAtOnceWhenTheLockIsNotHeld) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  std::atomic<int> runs{0};
  fast::run_after_release(s->m[0], std::make_unique<CountRuns>(runs));
  EXPECT_EQ(runs.load(), 1);
}

TEST(RobustFast, AReleaseActionWaitsForTheOutermostUnlockThroughAnyMapping) {
  TwoMappings two;
  ASSERT_TRUE(two.ready());
  ASSERT_NE(&two.mutex(0), &two.mutex(1));
  std::atomic<int> runs{0};

  ASSERT_EQ(fast::lock(two.mutex(0)), 0);
  ASSERT_EQ(fast::lock(two.mutex(1)), 0);  // the same lock, one level deeper
  EXPECT_TRUE(fast::held_by_this_thread(two.mutex(1)));
  fast::run_after_release(two.mutex(0), std::make_unique<CountRuns>(runs));
  EXPECT_EQ(runs.load(), 0);
  ASSERT_EQ(fast::unlock(two.mutex(0)), 0);
  EXPECT_EQ(runs.load(), 0) << "still held one level up";
  ASSERT_EQ(fast::unlock(two.mutex(1)), 0);  // the outermost release, through the other address
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(fast::held_by_this_thread(two.mutex(0)));

  // Another thread's unlocks never run this thread's actions.
  ASSERT_EQ(fast::lock(two.mutex(0)), 0);
  fast::run_after_release(two.mutex(0), std::make_unique<CountRuns>(runs));
  SharedArea elsewhere;
  ASSERT_TRUE(elsewhere.ready());
  std::thread([&] {
    EXPECT_EQ(fast::lock(elsewhere->m[0]), 0);
    EXPECT_EQ(fast::unlock(elsewhere->m[0]), 0);
  }).join();
  EXPECT_EQ(runs.load(), 1);
  ASSERT_EQ(fast::unlock(two.mutex(0)), 0);
  EXPECT_EQ(runs.load(), 2);
}

TEST(RobustFast, AReleaseActionOfAThreadThatExitsHoldingTheLockNeverRuns) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  std::atomic<int> runs{0};
  std::thread([&] {
    ASSERT_EQ(fast::lock(s->m[0]), 0);
    fast::run_after_release(s->m[0], std::make_unique<CountRuns>(runs));
  }).join();  // exits holding it
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(::pthread_mutex_trylock(&s->m[0]), EOWNERDEAD) << "the kernel still found it";
  ::pthread_mutex_consistent(&s->m[0]);
  EXPECT_EQ(fast::unlock(s->m[0]), 0);
  EXPECT_EQ(runs.load(), 0) << "another thread's release does not run it either";
}

/// True while thread `tid` of this process is blocked in the futex system call. Where the kernel
/// does not tell (no /proc/.../syscall), true: the caller has already seen FUTEX_WAITERS set.
bool asleep_in_futex(pid_t tid) {
  const auto call = shm::test::blocked_syscall("/proc/self/task/" + std::to_string(tid) + "/syscall");
  return !call || call->number == SYS_futex;
}

TEST(RobustFast, AWaiterStrandedByAKilledUnlockerStillGetsTheLock) {
  // The window wait_for() guards: an unlock's release happens, its wake does not. A child takes
  // the lock; a thread here waits for it, asleep in the futex; then the child clears the lock
  // word without a wake and exits, as if killed right after the release. Its robust list still
  // names the mutex, but the kernel sees no owner there and wakes nobody.
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];
  int go[2];
  int held[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(held), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    ::close(held[0]);
    char c = fast::lock(m) == 0 ? 'L' : 'E';
    if (::write(held[1], &c, 1) != 1) ::_exit(3);
    if (::read(go[0], &c, 1) != 1) ::_exit(4);
    __atomic_store_n(&m.__data.__lock, 0, __ATOMIC_RELEASE);  // released, nobody woken
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(held[1]);
  char c = 0;
  ASSERT_EQ(::read(held[0], &c, 1), 1);
  ASSERT_EQ(c, 'L');

  std::atomic<pid_t> waiter_tid{0};
  std::promise<int> result;
  std::future<int> got = result.get_future();
  std::thread waiter([&] {
    waiter_tid = ::gettid();
    const int rc = fast::lock(m);
    result.set_value(rc);
    if (rc == 0) fast::unlock(m);
  });
  // By looking, not by sleeping: the waiter has flagged FUTEX_WAITERS and sleeps in the futex.
  while (waiter_tid == 0 ||
         (static_cast<unsigned>(__atomic_load_n(&m.__data.__lock, __ATOMIC_ACQUIRE)) & FUTEX_WAITERS) == 0 ||
         !asleep_in_futex(waiter_tid))
    std::this_thread::yield();
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::close(go[1]);
  ::close(held[0]);

  const bool woke = got.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!woke) ::syscall(SYS_futex, &m.__data.__lock, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);  // so the test ends
  waiter.join();
  EXPECT_TRUE(woke) << "the waiter slept on a free lock";
  EXPECT_EQ(got.get(), 0);
}

/// Sets robust_fast's contention back-off for one test, and puts the previous one back.
class ScopedBackoff {
 public:
  explicit ScopedBackoff(std::chrono::nanoseconds backoff) : previous_(fast::contention_backoff()) {
    fast::set_contention_backoff(backoff);
  }
  ScopedBackoff(const ScopedBackoff&) = delete;
  ScopedBackoff& operator=(const ScopedBackoff&) = delete;
  ~ScopedBackoff() { fast::set_contention_backoff(previous_); }

 private:
  std::chrono::nanoseconds previous_;  ///< restored on destruction
};

/// Whether this kernel tells which system call a thread is blocked in (/proc/.../syscall).
bool kernel_shows_syscalls() {
  return shm::test::blocked_syscall("/proc/self/task/" + std::to_string(::gettid()) + "/syscall").has_value();
}

/// How a contended lock() went, up to the moment its thread fell asleep in the futex.
struct ContendedLock {
  std::chrono::nanoseconds wall{};  ///< from the call to the sleep (at least; found by looking)
  std::chrono::nanoseconds cpu{};   ///< the thread's CPU time by then, its start included
  int rc = -1;                      ///< what lock() returned once the lock was let go
};

/// Holds `m` here while a new thread lock()s it (pinned first to the CPU it starts on if
/// `one_cpu`), waits until that thread sleeps in the futex, measures, and lets go.
ContendedLock lock_against_a_holder(pthread_mutex_t& m, bool one_cpu) {
  ContendedLock result;
  if (fast::lock(m) != 0) {
    ADD_FAILURE() << "the holder could not lock";
    return result;
  }
  std::atomic<pid_t> tid{0};
  std::atomic<std::int64_t> called_at{0};
  std::thread waiter([&] {
    if (one_cpu) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(static_cast<std::size_t>(::sched_getcpu()), &cpus);
      if (::sched_setaffinity(0, sizeof cpus, &cpus) != 0)
        ADD_FAILURE() << "sched_setaffinity: " << std::strerror(errno);
    }
    called_at = std::chrono::steady_clock::now().time_since_epoch().count();
    tid = ::gettid();
    result.rc = fast::lock(m);
    if (result.rc == 0) fast::unlock(m);
  });
  const bool slept = shm::test::eventually([&] { return tid != 0 && asleep_in_futex(tid); });
  const auto asleep_at = std::chrono::steady_clock::now();
  result.cpu = shm::test::cpu_time(waiter);
  result.wall =
      asleep_at - std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(called_at.load()));
  EXPECT_TRUE(slept) << "the waiter never slept in the futex";
  fast::unlock(m);
  waiter.join();
  return result;
}

TEST(RobustFast, ContentionBackoffIsClampedAndZeroTurnsItOff) {
  ScopedBackoff keep(fast::kDefaultContentionBackoff);
  EXPECT_EQ(fast::contention_backoff(), std::chrono::microseconds(2));
  fast::set_contention_backoff(std::chrono::hours(1));
  EXPECT_EQ(fast::contention_backoff(), fast::kMaxContentionBackoff);
  fast::set_contention_backoff(std::chrono::nanoseconds(-5));
  EXPECT_EQ(fast::contention_backoff(), std::chrono::nanoseconds::zero());

  if (!kernel_shows_syscalls()) GTEST_SKIP() << "no /proc/.../syscall: cannot see the waiter fall asleep";
  SharedArea s;
  ASSERT_TRUE(s.ready());
  const ContendedLock waited = lock_against_a_holder(s->m[0], false);
  EXPECT_EQ(waited.rc, 0);
  EXPECT_LT(waited.cpu, std::chrono::milliseconds(3)) << "no back-off: it goes to sleep at once";
}

TEST(RobustFast, AContendedLockBacksOffOnTheCpuBeforeItSleeps) {
  if (!shm::several_cpus_usable()) GTEST_SKIP() << "one CPU: lock() rightly never backs off here";
  if (!kernel_shows_syscalls()) GTEST_SKIP() << "no /proc/.../syscall: cannot see the waiter fall asleep";
  // A back-off long enough to see from outside (the default is 2 us), and to leave the waiter a
  // millisecond of CPU within it however busy the machine is.
  constexpr auto kBackoff = std::chrono::milliseconds(20);
  ScopedBackoff backoff(kBackoff);
  SharedArea s;
  ASSERT_TRUE(s.ready());
  const ContendedLock waited = lock_against_a_holder(s->m[0], false);
  EXPECT_EQ(waited.rc, 0);
  EXPECT_GE(waited.wall, kBackoff) << "it slept before its back-off was over";
  EXPECT_GE(waited.cpu, std::chrono::milliseconds(1)) << "it did not stay on the CPU meanwhile";
}

TEST(RobustFast, AThreadThatMayRunOnOneCpuOnlyDoesNotBackOff) {
  if (!kernel_shows_syscalls()) GTEST_SKIP() << "no /proc/.../syscall: cannot see the waiter fall asleep";
  ScopedBackoff backoff(std::chrono::milliseconds(10));
  SharedArea s;
  ASSERT_TRUE(s.ready());
  const ContendedLock waited = lock_against_a_holder(s->m[0], true);
  EXPECT_EQ(waited.rc, 0);
  EXPECT_LT(waited.cpu, std::chrono::milliseconds(3)) << "it spun although the holder could not run meanwhile";
}

TEST(RobustFast, ALockLetGoDuringTheBackOffIsTakenWithoutASleep) {
  if (!shm::several_cpus_usable()) GTEST_SKIP() << "one CPU: lock() rightly never backs off here";
  // The longest there is, so that the release below surely falls within it however busy the
  // machine is.
  ScopedBackoff backoff(fast::kMaxContentionBackoff);
  SharedArea s;
  ASSERT_TRUE(s.ready());
  pthread_mutex_t& m = s->m[0];
  ASSERT_EQ(fast::lock(m), 0);
  int rc = -1;
  long slept = -1;
  std::thread waiter([&] {
    const std::string status = "/proc/thread-self/status";
    const long before = shm::test::status_field(status, "voluntary_ctxt_switches");
    rc = fast::lock(m);
    slept = shm::test::status_field(status, "voluntary_ctxt_switches") - before;
    if (rc == 0) fast::unlock(m);
  });
  // A millisecond of CPU is far more than a lock() takes to reach its back-off: it is in it.
  const bool backing_off = shm::test::eventually(
      [&] { return shm::test::cpu_time(waiter) >= std::chrono::milliseconds(1); }, std::chrono::seconds(2));
  EXPECT_TRUE(backing_off) << "the waiter never spent a millisecond on the CPU";
  ASSERT_EQ(fast::unlock(m), 0);
  waiter.join();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(slept, 0) << "the waiter slept although the lock was free when its back-off ended";
}

/// How a stress worker takes and releases m[0].
enum class Calls {
  fast,           ///< robust_fast::lock / unlock
  glibc,          ///< pthread_mutex_lock / unlock
  glibc_trylock,  ///< pthread_mutex_trylock until it succeeds, then pthread_mutex_unlock: glibc's
                  ///< protocol without a futex sleep, which a SIGKILL can strand (see wait_for())
};

int take(pthread_mutex_t& m, Calls calls) {
  switch (calls) {
    case Calls::fast: return fast::lock(m);
    case Calls::glibc: return ::pthread_mutex_lock(&m);
    case Calls::glibc_trylock:
      for (;;) {
        const int rc = ::pthread_mutex_trylock(&m);
        if (rc != EBUSY) return rc;
        std::this_thread::yield();
      }
  }
  return EINVAL;
}

int give_back(pthread_mutex_t& m, Calls calls) {
  return calls == Calls::fast ? fast::unlock(m) : ::pthread_mutex_unlock(&m);
}

/// One stress worker: `rounds` critical sections on m[0], each checking that nobody else is
/// inside and doing a non-atomic increment; a holder found dead is repaired.
void stress_worker(Shared& s, int me, Calls calls, std::uint64_t rounds) {
  for (std::uint64_t i = 0; i < rounds && s.stop.load(std::memory_order_relaxed) == 0; ++i) {
    const int rc = take(s.m[0], calls);
    if (rc == EOWNERDEAD) {
      s.holder = 0;  // the dead holder's mark
      ::pthread_mutex_consistent(&s.m[0]);
    } else if (rc != 0) {
      s.violations.fetch_add(1000);
      return;
    }
    if (s.holder != 0) s.violations.fetch_add(1);
    s.holder = me;
    const std::uint64_t c = s.counter;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    s.counter = c + 1;
    if (s.holder != me) s.violations.fetch_add(1);
    s.holder = 0;
    if (give_back(s.m[0], calls) != 0) s.violations.fetch_add(1000);
  }
}

TEST(RobustFast, ThreadsMixingBothPathsNeverShareTheLock) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  constexpr std::uint64_t kRounds = 50'000;
  std::vector<std::thread> threads;
  for (int t = 1; t <= 4; ++t)
    threads.emplace_back([&s, t] { stress_worker(s.get(), t, t % 2 == 0 ? Calls::glibc : Calls::fast, kRounds); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(s->violations.load(), 0);
  EXPECT_EQ(s->counter, 4 * kRounds);
}

TEST(RobustFast, ProcessesKilledAtRandomNeverBreakMutualExclusion) {
  SharedArea s;
  ASSERT_TRUE(s.ready());
  constexpr int kWorkers = 3;
  constexpr int kKills = 40;
  auto spawn = [&](int slot) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      stress_worker(s.get(), static_cast<int>(::getpid()), slot == 0 ? Calls::glibc_trylock : Calls::fast, UINT64_MAX);
      ::_exit(0);
    }
    return pid;
  };
  std::array<pid_t, kWorkers> workers{};
  for (int i = 0; i < kWorkers; ++i) ASSERT_GT(workers[static_cast<std::size_t>(i)] = spawn(i), 0);

  for (int k = 0; k < kKills; ++k) {
    // Wait for progress (never for time), then kill one worker wherever it is, often mid-section.
    const std::uint64_t seen = __atomic_load_n(&s->counter, __ATOMIC_RELAXED);
    while (__atomic_load_n(&s->counter, __ATOMIC_RELAXED) < seen + 500) std::this_thread::yield();
    const auto victim = static_cast<std::size_t>(k % kWorkers);
    ::kill(workers[victim], SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(workers[victim], &status, 0), workers[victim]);
    ASSERT_GT(workers[victim] = spawn(static_cast<int>(victim)), 0);
  }
  s->stop.store(1);
  for (const pid_t pid : workers) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(s->violations.load(), 0);
  int rc = fast::lock(s->m[0]);
  if (rc == EOWNERDEAD) rc = ::pthread_mutex_consistent(&s->m[0]);
  EXPECT_EQ(rc, 0) << "the lock still works";
  EXPECT_EQ(fast::unlock(s->m[0]), 0);
}

}  // namespace
