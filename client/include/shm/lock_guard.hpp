#pragma once
/// LockGuard: holds a segment's robust recursive mutex.

#include <pthread.h>

#include <cstddef>
#include <utility>

#include "shm/robust_mutex_fast.hpp"
#include "shm/segment_layout.hpp"

namespace shm {

/// Holds a segment's lock until destroyed or `unlock()`ed. Move-only.
/// The lock is recursive: the same thread may lock a segment again while holding it.
/// A guard may outlive its Segment: the segment then stays mapped until the guard lets go.
/// Release it on the thread that took it: the mutex refuses an unlock from any other thread.
/// Releasing it notifies the segment's waiters (see Segment::wait): a lock is taken to write.
class LockGuard {
 public:
  /// An empty guard that holds nothing.
  LockGuard() noexcept = default;
  LockGuard(LockGuard&& other) noexcept
      : mutex_(std::exchange(other.mutex_, nullptr)), owner_died_(other.owner_died_) {}
  LockGuard& operator=(LockGuard&& other) noexcept {
    if (this != &other) {
      unlock();
      mutex_ = std::exchange(other.mutex_, nullptr);
      owner_died_ = other.owner_died_;
    }
    return *this;
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  ~LockGuard() { unlock(); }

  /// True if the previous holder died while holding the lock. The mutex has been made
  /// consistent, but the data it protects may be half-updated: check it.
  [[nodiscard]] bool owner_died() const noexcept { return owner_died_; }
  /// True while the lock is held through this guard.
  [[nodiscard]] bool owns_lock() const noexcept { return mutex_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  /// Releases the lock early, then notifies the segment's waiters (before a Segment dropped
  /// while its lock was held lets its mapping go: robust_fast::unlock_and_notify).
  void unlock() noexcept {
    if (mutex_ != nullptr) {
      auto* header =
          reinterpret_cast<SegmentHeader*>(reinterpret_cast<std::byte*>(mutex_) - offsetof(SegmentHeader, mutex));
      robust_fast::unlock_and_notify(*std::exchange(mutex_, nullptr), header->changes);
    }
  }

 private:
  friend class Segment;
  LockGuard(pthread_mutex_t* mutex, bool owner_died) noexcept : mutex_(mutex), owner_died_(owner_died) {}
  pthread_mutex_t* mutex_ = nullptr;  ///< the held mutex, or nullptr
  bool owner_died_ = false;           ///< the lock was recovered from a dead owner
};

}  // namespace shm
