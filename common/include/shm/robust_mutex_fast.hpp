#pragma once
/// Lock and unlock for the segment mutex, with glibc's robust-mutex protocol done inline.
///
/// A segment's mutex is a glibc robust, recursive, process-shared pthread_mutex_t. For that kind,
/// pthread_mutex_lock and pthread_mutex_unlock go through glibc's general "full" paths, which
/// dispatch on every mutex type. These functions take the three common cases inline instead: an
/// uncontended lock, a recursive re-lock, and the owner's release. They write the same fields in
/// the same order as glibc 2.36 does, link the mutex into the same per-thread robust list (the list
/// the kernel walks when a thread dies, which is what makes EOWNERDEAD work), and pass every other
/// case to glibc: contention, a dead owner, an unrecoverable mutex, a foreign kind, errors.
/// A mutex can therefore be locked here and unlocked by pthread_mutex_unlock, or the other way
/// round, in any mix of processes.
///
/// Unlike pthread_mutex_lock, lock() never sleeps longer than 100 ms at a time without looking at
/// the lock again: a process killed in the middle of an unlock can leave a waiter of a glibc
/// robust mutex asleep for good while the lock is free (see wait_for() in common/src/robust_wait.cpp).
///
/// And before it sleeps at all, a lock() that finds the mutex held backs off: it pauses on the
/// CPU for a short time (shm/contention_backoff.hpp, 2 us by default) without touching the mutex, looks
/// once more, and takes the lock if it is free. Critical sections are usually shorter than that,
/// and a futex sleep is not: each futex call on shared memory costs about a microsecond here, and
/// two CPUs taking turns at one mutex also pass its cache line back and forth on every turn.
/// Backing off lets the holder's CPU run its critical sections alone meanwhile. A thread that
/// may run on one CPU only does not back off: the holder cannot run while it pauses.
/// (docs/performance.md, "locked_increment: what robustness costs".)
///
/// The inline path is compiled only for glibc 2.36 on x86-64 (Debian 12), and used only where the
/// running glibc reports that version and the thread's robust list is the one glibc registered.
/// Anywhere else both functions are pthread_mutex_lock and pthread_mutex_unlock. What it gains:
/// docs/performance.md, "locked_increment: what robustness costs".

#include <pthread.h>

#include <chrono>
#include <cstdint>

namespace shm::robust_fast {

/// pthread_mutex_lock(&m), with the same results (0, EOWNERDEAD, ENOTRECOVERABLE, EAGAIN, ...),
/// waiting in slices.
int lock(pthread_mutex_t& m) noexcept;

/// pthread_mutex_trylock(&m), with the same results, except that an unrecoverable mutex is left
/// unlocked: glibc 2.36's trylock takes the lock word, finds the mutex unrecoverable, and returns
/// ENOTRECOVERABLE still holding the word (pthread_mutex_trylock.c tests `oldval == id` where
/// oldval is the 0 it replaced), after which every lock() by others waits for good.
int try_lock(pthread_mutex_t& m) noexcept;

/// pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, now + timeout), with the same results (ETIMEDOUT
/// once `timeout` has passed; zero or less only tries), waiting in the same slices as lock().
int lock_for(pthread_mutex_t& m, std::chrono::nanoseconds timeout) noexcept;

/// pthread_mutex_unlock(&m), with the same results (0, EPERM, ...).
int unlock(pthread_mutex_t& m) noexcept;

/// unlock(m), then change_word::notify_after_seq_cst(changes): the look at the segment's waiters
/// comes after the release, so it neither lengthens the critical section nor needs a fence of
/// its own (the release's exchange is one), and before any run_after_release() action, which may
/// unmap the segment `changes` is in. What LockGuard's release does.
int unlock_and_notify(pthread_mutex_t& m, std::uint32_t& changes) noexcept;

/// True when the calling thread takes the inline path (this glibc and thread qualify).
bool active() noexcept;

/// True when the calling thread holds `m`: its lock word names this thread.
bool held_by_this_thread(const pthread_mutex_t& m) noexcept;

}  // namespace shm::robust_fast
