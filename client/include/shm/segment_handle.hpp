#pragma once
/// SegmentHandle: what Value<T> and Array<T> share, the attached segment and the calls that do
/// not depend on the element type (the lock, waiting for changes, the metadata, detaching).

#include <chrono>
#include <cstdint>
#include <system_error>
#include <utility>

#include "shm/lock_guard.hpp"
#include "shm/segment.hpp"
#include "shm/segment_info.hpp"
#include "shm/wait_result.hpp"

namespace shm {

/// The untyped half of a Value or an Array: one attached Segment, and its lock, change count and
/// metadata, each forwarded as Segment documents it. Not made on its own (the constructors are
/// protected); move-only like the Segment it owns.
class SegmentHandle {
 public:
  SegmentHandle(const SegmentHandle&) = delete;
  SegmentHandle& operator=(const SegmentHandle&) = delete;

  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock() { return segment_.lock(); }
  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock(std::error_code& ec) noexcept { return segment_.lock(ec); }
  /// Takes the segment's lock, waiting at most `timeout` (see Segment::lock_for).
  LockGuard lock_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return segment_.lock_for(timeout, ec);
  }

  /// The change count, to pass to wait() (see Segment::changes).
  [[nodiscard]] std::uint32_t changes() { return segment_.changes(); }
  /// The change count, to pass to wait() (see Segment::changes).
  [[nodiscard]] std::uint32_t changes(std::error_code& ec) noexcept { return segment_.changes(ec); }
  /// Tells waiters the contents changed, after writes that do not do it themselves (see Segment::notify).
  void notify() noexcept { segment_.notify(); }
  /// Sleeps until the segment changes after `seen` was taken, it is removed, or `timeout` passes (see Segment::wait).
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    return segment_.wait(seen, timeout);
  }
  /// Non-throwing form of wait(seen, timeout).
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return segment_.wait(seen, timeout, ec);
  }

  /// The daemon's metadata.
  [[nodiscard]] const SegmentInfo& info() const noexcept { return segment_.info(); }
  /// The untyped segment underneath.
  [[nodiscard]] Segment& segment() noexcept { return segment_; }
  /// True when attached.
  explicit operator bool() const noexcept { return segment_.valid(); }
  /// Detaches now (see Segment::detach).
  void detach() { segment_.detach(); }

 protected:
  SegmentHandle() noexcept = default;
  explicit SegmentHandle(Segment segment) noexcept : segment_(std::move(segment)) {}
  SegmentHandle(SegmentHandle&&) noexcept = default;
  SegmentHandle& operator=(SegmentHandle&&) noexcept = default;
  ~SegmentHandle() = default;  ///< not virtual: nothing is ever owned or destroyed as a SegmentHandle

  Segment segment_;  ///< the attached segment
};

}  // namespace shm
