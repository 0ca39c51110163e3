#pragma once
/// BoundSegment: what shmd.Value and shmd.Array have in common, over one shm::Segment.

#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lock_state.hpp"
#include "shm/segment.hpp"
#include "shm/wait_result.hpp"

namespace shmd_py {

/// The base of the Python Value and Array: one attached segment (held by the derived class as
/// its typed handle), its lock state, and the count of buffer views exported from it.
class BoundSegment {
 public:
  /// `kind` is "Value" or "Array", for messages.
  BoundSegment(shm::SegmentInfo info, bool read_only, const char* kind);
  /// Detaches its Lock, if any, from this object.
  virtual ~BoundSegment();
  BoundSegment(const BoundSegment&) = delete;
  BoundSegment& operator=(const BoundSegment&) = delete;

  /// The segment underneath; empty once detached.
  [[nodiscard]] virtual shm::Segment& segment() noexcept = 0;
  /// The segment, or ValueError if detached (like an operation on a closed file).
  shm::Segment& live();
  /// live(), and PermissionDeniedError before anything is written through a read-only mapping.
  shm::Segment& writable();

  /// The segment's name (kept after detach).
  [[nodiscard]] const std::string& name() const noexcept { return info_.name; }
  /// The segment's typecode.
  [[nodiscard]] char typecode() const noexcept { return info_.typecode; }
  /// "Value" or "Array".
  [[nodiscard]] const char* kind() const noexcept { return kind_; }
  /// The metadata the daemon reported at attach time.
  [[nodiscard]] const shm::SegmentInfo& info() const noexcept { return info_; }
  /// True when attached read-only.
  [[nodiscard]] bool read_only() const noexcept { return read_only_; }
  /// True once detached.
  [[nodiscard]] bool closed() noexcept { return !segment().valid(); }
  /// The lock state of its Lock.
  [[nodiscard]] const std::shared_ptr<LockState>& lock_state() const noexcept { return lock_; }
  /// get_lock(): the one Lock of `self` (this object's Python object), made on first use.
  pybind11::object get_lock(pybind11::handle self);

  /// The change count to pass to wait() (Segment::changes; a read-only one may ask the daemon,
  /// without the GIL).
  std::uint32_t changes();
  /// Segment::notify (PermissionDeniedError when read-only: it could not have changed anything).
  void notify();
  /// Segment::wait without the GIL, in slices that let signals (KeyboardInterrupt) through;
  /// `timeout` None waits until a change or removal.
  shm::WaitResult wait(std::uint32_t seen, const pybind11::object& timeout);
  /// Calls `predicate(argument())` now and after each change until it is true (changed), the
  /// segment is removed, or `timeout` passes.
  shm::WaitResult wait_for(const pybind11::object& predicate, const pybind11::object& timeout,
                           const std::function<pybind11::object()>& argument);

  /// Detaches (waiting for the daemon, without the GIL). BufferError while buffer views exist,
  /// ValueError while this process holds the lock through this object, or a thread uses it
  /// without the GIL (busy). Idempotent.
  void detach();

  /// Buffer views of the mapping handed out and not yet released.
  int exports = 0;
  /// Threads using the segment without the GIL (a lock wait, a hold): the mapping must stay
  /// until they return (see BusyMark).
  int busy = 0;

 private:
  shm::SegmentInfo info_;                                            ///< attach-time metadata
  bool read_only_;                                                   ///< mapped PROT_READ
  const char* kind_;                                                 ///< "Value" or "Array"
  std::shared_ptr<LockState> lock_ = std::make_shared<LockState>();  ///< shared with the Lock
  pybind11::object lock_object_;                                     ///< the Lock get_lock() returns, once made
};

/// Counts a thread in `segment.busy` for its lifetime, however it ends; detach() refuses meanwhile.
class BusyMark {
 public:
  explicit BusyMark(BoundSegment& segment) noexcept : segment_(segment) { ++segment_.busy; }
  ~BusyMark() { --segment_.busy; }
  BusyMark(const BusyMark&) = delete;
  BusyMark& operator=(const BusyMark&) = delete;

 private:
  BoundSegment& segment_;  ///< the segment in use
};

}  // namespace shmd_py
