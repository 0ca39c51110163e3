#pragma once
/// BoundLock: shmd.Lock, a segment's robust recursive process-shared mutex, as threading.RLock.

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "bound_segment.hpp"
#include "lock_state.hpp"

namespace shmd_py {

/// The lock of one Value or Array. The Value caches its one Lock (get_lock() returns the same
/// object every time) and owns it; the Lock points back without a reference, except while this
/// process holds it, when it keeps the Value (and so the mapped mutex) alive. No cycle outlives a
/// release, and a Lock that outlives its Value refuses to be taken.
class BoundLock {
 public:
  /// The lock of `segment`, whose Python object is `owner` (borrowed).
  BoundLock(PyObject* owner, BoundSegment& segment);

  /// threading.RLock.acquire: blocks (without the GIL, still answering signals) or not, for at
  /// most `timeout` seconds (None or -1: no limit). True when taken.
  bool acquire(bool block, const pybind11::object& timeout);
  /// Releases one level; RuntimeError if the calling thread does not hold it.
  void release();
  /// True after an acquire that recovered the lock from a holder that died.
  [[nodiscard]] bool owner_died() const noexcept { return state_->owner_died; }
  /// True while some thread of this process holds it through this Value.
  [[nodiscard]] bool held() const noexcept { return !state_->guards.empty(); }
  /// Called by the Value as it dies: this Lock no longer reaches a segment.
  void forget_owner() noexcept {
    owner_ = nullptr;
    segment_ = nullptr;
  }
  /// shmd.Lock's repr.
  [[nodiscard]] std::string repr() const;

 private:
  /// The segment, or ValueError once its Value is gone.
  [[nodiscard]] BoundSegment& bound() const;
  /// Waits for the lock in slices, without the GIL, until `timeout_s` (negative: no limit).
  shm::LockGuard wait(BoundSegment& bound, shm::Segment& seg, double timeout_s);

  PyObject* owner_;                   ///< the Value or Array (borrowed; it owns this Lock), null once gone
  BoundSegment* segment_;             ///< owner_'s C++ object, null once gone
  pybind11::object held_owner_;       ///< owner_, referenced while this process holds the lock
  std::shared_ptr<LockState> state_;  ///< the owner's lock state
  std::string kind_;                  ///< "Value" or "Array", for repr
  std::string name_;                  ///< the segment's name, for repr
};

}  // namespace shmd_py
