#pragma once
/// BoundLock: shmd.Lock, a segment's robust recursive process-shared mutex, as threading.RLock.

#include <pybind11/pybind11.h>

#include <memory>

#include "bound_segment.hpp"
#include "lock_state.hpp"

namespace shmd_py {

/// The lock of one Value or Array, which it keeps alive. Every Lock of the same Value shares one
/// LockState, so a lock taken through one is released through another.
class BoundLock {
 public:
  /// The lock of `segment`, whose Python object is `owner`.
  BoundLock(pybind11::object owner, BoundSegment& segment);

  /// threading.RLock.acquire: blocks (without the GIL, still answering signals) or not, for at
  /// most `timeout` seconds (None or -1: no limit). True when taken.
  bool acquire(bool block, const pybind11::object& timeout);
  /// Releases one level; RuntimeError if the calling thread does not hold it.
  void release();
  /// True after an acquire that recovered the lock from a holder that died.
  [[nodiscard]] bool owner_died() const noexcept { return state_->owner_died; }
  /// True while some thread of this process holds it through this Value.
  [[nodiscard]] bool held() const noexcept { return !state_->guards.empty(); }
  /// The Value or Array this lock belongs to.
  [[nodiscard]] const pybind11::object& owner() const noexcept { return owner_; }
  /// The segment it locks.
  [[nodiscard]] BoundSegment& segment() const noexcept { return *segment_; }

 private:
  /// Waits for the lock in slices, without the GIL, until `timeout_s` (negative: no limit).
  shm::LockGuard wait(shm::Segment& seg, double timeout_s);

  pybind11::object owner_;             ///< keeps the segment alive while this Lock exists
  BoundSegment* segment_;              ///< owner_'s C++ object
  std::shared_ptr<LockState> state_;  ///< shared with every Lock of owner_
};

}  // namespace shmd_py
