#pragma once
/// The segment mutex: process-shared, robust and recursive, like the RLock of Python's Value.

#include <pthread.h>

#include <system_error>

namespace shm {

/// How a lock was obtained.
enum class LockState {
  acquired,    ///< normally
  owner_died,  ///< its previous owner died holding it; the mutex was made consistent
  busy,        ///< try_lock only: somebody else holds it
};

/// Initialises `m` in place as a process-shared, robust, recursive mutex.
std::error_code init_robust_mutex(pthread_mutex_t& m) noexcept;

/// Locks `m` (through robust_fast::lock), recovering it (pthread_mutex_consistent) if its owner
/// died. Never blocks forever on a dead owner. Sets `ec` if the mutex is unusable.
LockState lock_robust_mutex(pthread_mutex_t& m, std::error_code& ec) noexcept;

/// Like lock_robust_mutex, but returns LockState::busy instead of waiting.
LockState try_lock_robust_mutex(pthread_mutex_t& m, std::error_code& ec) noexcept;

/// Finishes a lock attempt that returned `rc` (from robust_fast::lock or robust_fast::try_lock on
/// `m`): repairs the mutex after EOWNERDEAD, maps errors into `ec`. For callers with their own
/// fast path.
LockState settle_robust_lock(pthread_mutex_t& m, int rc, std::error_code& ec) noexcept;

/// Unlocks `m` (through robust_fast::unlock).
std::error_code unlock_robust_mutex(pthread_mutex_t& m) noexcept;

}  // namespace shm
