// The segment lock's waiting: a wait for a held robust mutex sleeps in slices, never longer than
// kWaitSliceNs at a time without looking at the lock again (see wait_for()), and under
// ThreadSanitizer the blocking call is seen by TSan (lock_until()).

#include "robust_wait.hpp"

#include <ctime>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "shm/contention_backoff.hpp"
#include "shm/robust_mutex_fast.hpp"
#include "tsan.hpp"

#if SHM_TSAN
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>
#endif

namespace shm::robust_fast {
namespace {

/// How long one wait for a held robust mutex sleeps before it looks at the lock word again.
constexpr long kWaitSliceNs = 100'000'000;

#if SHM_TSAN
/// Whether this TSan runtime intercepts pthread_mutex_clocklock: LLVM's does from release 18,
/// GCC 12's (Debian 12) and clang 14's do not. Intercepted, the symbol resolves outside libc.
bool clocklock_intercepted() noexcept {
  static const bool intercepted = [] {
    Dl_info clocklock{};
    Dl_info libc{};
    void* const clocklock_at = ::dlsym(RTLD_DEFAULT, "pthread_mutex_clocklock");
    void* const libc_at = ::dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
    return clocklock_at == nullptr || libc_at == nullptr || ::dladdr(clocklock_at, &clocklock) == 0 ||
           ::dladdr(libc_at, &libc) == 0 || clocklock.dli_fbase != libc.dli_fbase;
  }();
  return intercepted;
}
#endif

/// pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline); under TSan, seen by TSan too.
int lock_until(pthread_mutex_t& m, const timespec& deadline) noexcept {
#if SHM_TSAN
  if (!clocklock_intercepted()) {
    // TSan forgets an owner that died in this process only when an interceptor sees EOWNERDEAD
    // (no annotation can tell it), so look with trylock's first. An owner that dies in this
    // process while this thread sleeps below stays TSan's, which then reports a double lock.
    if (const int rc = try_lock(m); rc != EBUSY) return rc;
    __tsan_mutex_pre_lock(&m, 0);
    const int rc = ::pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline);
    __tsan_mutex_post_lock(&m, rc == 0 || rc == EOWNERDEAD ? 0 : __tsan_mutex_try_lock_failed, 0);
    return rc;
  }
#endif
  return ::pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline);
}

}  // namespace

/// pthread_mutex_lock(&m) for a robust mutex that somebody else holds, waiting in slices.
/// A robust futex can strand a waiter: if a process is killed between an unlock's release of
/// the lock word and its futex wake, and a third thread takes the free lock in that window, the
/// kernel's exit handling sees an owner and wakes nobody, and the new owner's unlock sees no
/// FUTEX_WAITERS and wakes nobody either. The sleeper would wait forever for a lock that may long
/// be free. glibc's pthread_mutex_lock has that window too; slicing the wait bounds the stall to
/// one slice, and costs a sleeping waiter a wake-up per slice.
int wait_for(pthread_mutex_t& m) noexcept {
  for (;;) {
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += kWaitSliceNs;
    if (deadline.tv_nsec >= 1'000'000'000) {
      deadline.tv_nsec -= 1'000'000'000;
      ++deadline.tv_sec;
    }
    const int rc = lock_until(m, deadline);
    if (rc != ETIMEDOUT) return rc;
  }
}

/// The whole lock through glibc: the free case at trylock's cost, the back-off and one more try,
/// then the sliced wait.
int lock_through_glibc(pthread_mutex_t& m) noexcept {
  int rc = try_lock(m);
  if (rc == EBUSY && back_off()) rc = try_lock(m);
  return rc == EBUSY ? wait_for(m) : rc;
}

int lock_for(pthread_mutex_t& m, std::chrono::nanoseconds timeout) noexcept {
  int rc = try_lock(m);
  if (rc == EBUSY && timeout > std::chrono::nanoseconds::zero() && back_off()) rc = try_lock(m);
  if (rc != EBUSY) return rc;
  // steady_clock is CLOCK_MONOTONIC on Linux; each wait is one of wait_for()'s slices at most.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto now = std::chrono::steady_clock::now(); now < deadline; now = std::chrono::steady_clock::now()) {
    const auto slice = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::nanoseconds(kWaitSliceNs));
    timespec until{};
    ::clock_gettime(CLOCK_MONOTONIC, &until);
    const long long ns = static_cast<long long>(until.tv_nsec) + slice.count();
    until.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    until.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    rc = lock_until(m, until);
    if (rc != ETIMEDOUT) return rc;
  }
  return ETIMEDOUT;
}

}  // namespace shm::robust_fast
