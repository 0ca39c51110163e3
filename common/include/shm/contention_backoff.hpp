#pragma once
/// The segment lock's contention back-off (shm/robust_mutex_fast.hpp): before a lock() that finds
/// the mutex held by another thread sleeps, it pauses on the CPU for contention_backoff() without
/// touching the mutex, looks once more, and takes the lock if it is free. A thread that may run
/// on one CPU only does not back off: the holder cannot run while it pauses.
/// (docs/performance.md, "locked_increment: what robustness costs".) Not installed.

#include <chrono>

namespace shm::robust_fast {

/// How long a contended lock() backs off by default before it looks again and then sleeps.
inline constexpr std::chrono::nanoseconds kDefaultContentionBackoff{2'000};

/// The longest back-off set_contention_backoff() accepts.
inline constexpr std::chrono::nanoseconds kMaxContentionBackoff{100'000'000};

/// Sets the back-off of every later contended lock() in this process: clamped to
/// [0, kMaxContentionBackoff]; zero sleeps at once, as pthread_mutex_lock does.
void set_contention_backoff(std::chrono::nanoseconds backoff) noexcept;

/// The back-off in force.
std::chrono::nanoseconds contention_backoff() noexcept;

/// One back-off, for the lock's own use: pauses for contention_backoff() without touching the
/// mutex. Returns false, at once, where it should not back off (zero, or one usable CPU).
bool back_off() noexcept;

}  // namespace shm::robust_fast
