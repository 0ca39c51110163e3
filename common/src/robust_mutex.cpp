#include "shm/robust_mutex.hpp"

#include <cerrno>

#include "shm/error.hpp"
#include "shm/robust_mutex_fast.hpp"

namespace shm {
namespace {

std::error_code from_pthread(int rc) noexcept {
  if (rc == 0) return {};
  return make_error_code(errc_from_errno(rc));
}

}  // namespace

// Turns a lock result into a LockState; EOWNERDEAD means we hold it and must repair it.
LockState settle_robust_lock(pthread_mutex_t& m, int rc, std::error_code& ec) noexcept {
  ec.clear();
  switch (rc) {
    case 0: return LockState::acquired;
    case EBUSY: return LockState::busy;
    case EOWNERDEAD:
      if (const int c = ::pthread_mutex_consistent(&m); c != 0) {
        ec = from_pthread(c);
        robust_fast::unlock(m);
        return LockState::busy;
      }
      return LockState::owner_died;
    default: ec = from_pthread(rc); return LockState::busy;
  }
}

std::error_code init_robust_mutex(pthread_mutex_t& m) noexcept {
  pthread_mutexattr_t attr;
  if (int rc = ::pthread_mutexattr_init(&attr); rc != 0) return from_pthread(rc);
  int rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  if (rc == 0) rc = ::pthread_mutex_init(&m, &attr);
  ::pthread_mutexattr_destroy(&attr);
  return from_pthread(rc);
}

LockState lock_robust_mutex(pthread_mutex_t& m, std::error_code& ec) noexcept {
  return settle_robust_lock(m, robust_fast::lock(m), ec);
}

LockState try_lock_robust_mutex(pthread_mutex_t& m, std::error_code& ec) noexcept {
  return settle_robust_lock(m, robust_fast::try_lock(m), ec);
}

std::error_code unlock_robust_mutex(pthread_mutex_t& m) noexcept { return from_pthread(robust_fast::unlock(m)); }

}  // namespace shm
