#pragma once
// The segment lock's waiting, private to common/src: what lock() does once the mutex is held by
// another thread (robust_wait.cpp). lock_for() is the public form (shm/robust_mutex_fast.hpp).

#include <pthread.h>

namespace shm::robust_fast {

/// pthread_mutex_lock(&m) for a robust mutex that somebody else holds, waiting in slices.
int wait_for(pthread_mutex_t& m) noexcept;

/// The whole lock through glibc: the free case at trylock's cost, the back-off and one more try,
/// then the sliced wait (lock() where the inline path is not taken).
int lock_through_glibc(pthread_mutex_t& m) noexcept;

}  // namespace shm::robust_fast
