#pragma once
/// run_after_release(): something to do once the calling thread no longer holds a segment mutex,
/// run by robust_fast::unlock() (shm/robust_mutex_fast.hpp). What it keeps alive is the client's
/// business (a Segment dropped while its lock is held keeps its mapping: client/src/segment.cpp);
/// this is the lock's side of it. Not installed.

#include <pthread.h>

#include <memory>

namespace shm::robust_fast {

/// Something to do once the calling thread no longer holds a mutex.
class ReleaseAction {
 public:
  virtual ~ReleaseAction() = default;
  /// Runs once, on the thread that held the mutex.
  virtual void run() noexcept = 0;
};

/// Runs `action` once the calling thread no longer holds `m`: at the end of the first unlock()
/// of this thread after which `m` is free of it, whatever the recursion depth and whichever
/// mapping of the same memory that unlock went through. Until then `m` must stay mapped, which
/// is what such an action is for: a segment handle dropped by the thread that holds its lock
/// keeps its mapping until the lock is released, so the guard's unlock, and the robust list that
/// names the mutex, never touch unmapped (or remapped) memory. If the thread (or the process)
/// exits still holding `m`, the action is neither run nor destroyed, so `m` stays mapped for the
/// kernel to mark it owner-dead. Runs `action` at once if this thread does not hold `m`. If there
/// is no memory to record it, the action is leaked: never run, never destroyed, so whatever it
/// owns (a mapping) stays.
void run_after_release(pthread_mutex_t& m, std::unique_ptr<ReleaseAction> action) noexcept;

}  // namespace shm::robust_fast
