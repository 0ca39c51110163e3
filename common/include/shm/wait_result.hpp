#pragma once
/// WaitResult: how a wait on a segment's changes ended, and the count to wait on next.

#include <cstdint>

namespace shm {

/// How a wait on a segment ended.
enum class WaitStatus : std::uint8_t {
  changed,    ///< the segment changed after the count waited on was taken (wait_for: the predicate held)
  timed_out,  ///< the timeout passed first
  removed,    ///< the segment was removed: no name leads to it any more, and it will not change again by name
};

/// The outcome of Segment::wait (and Value/Array::wait, Value::wait_for).
struct WaitResult {
  WaitStatus status = WaitStatus::timed_out;  ///< how it ended
  std::uint32_t changes = 0;                  ///< the change count now: the `seen` of the next wait
  /// True when the segment changed (wait_for: the predicate held).
  [[nodiscard]] bool changed() const noexcept { return status == WaitStatus::changed; }
  /// Same as changed().
  explicit operator bool() const noexcept { return changed(); }
};

}  // namespace shm
