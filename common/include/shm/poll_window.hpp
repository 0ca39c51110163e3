#pragma once
/// PollWindow: how long a server keeps busy polling after a burst, adapted as KVM's halt polling.
///
/// The daemon's event loop uses it (daemon/src/event_loop.cpp), and so do the bench's polled
/// references (bench/), so that shmd and the floors it is compared with poll alike.

#include <algorithm>
#include <chrono>

namespace shm {

/// The busy-poll window, adapted the way KVM adapts its halt polling. A sleep that ended within
/// the longest window allowed was one that a longer window would have caught: the window grows,
/// doubling. A sleep longer than that was one no window allowed would have caught: the window
/// halves, and below kGrowStart it is none. Requests that come back to back keep it at the
/// longest; requests too far apart to catch bring it down to nothing, so that each one no longer
/// costs a whole window of spinning.
class PollWindow {
 public:
  /// The clock the sleeps are measured with.
  using Clock = std::chrono::steady_clock;

  /// The smallest window worth polling for, and where a window grows from after it was none
  /// (KVM's halt polling starts growing at the same 10 us).
  static constexpr std::chrono::microseconds kGrowStart{10};

  /// Starts at `longest`, the most it will ever be.
  explicit PollWindow(std::chrono::microseconds longest) noexcept : longest_(longest), current_(longest) {}

  /// The window now: how long to keep polling after the last event before sleeping.
  [[nodiscard]] std::chrono::microseconds current() const noexcept { return current_; }

  /// Adapts to a sleep of `slept` (the wait for the next event, and that event's handler).
  void after_sleep(Clock::duration slept) noexcept {
    if (slept <= longest_) {
      current_ = current_ < kGrowStart ? std::min(kGrowStart, longest_) : std::min(current_ * 2, longest_);
    } else {
      current_ /= 2;
      if (current_ < kGrowStart) current_ = std::chrono::microseconds::zero();
    }
  }

 private:
  std::chrono::microseconds longest_;  ///< the window asked for
  std::chrono::microseconds current_;  ///< the window now
};

}  // namespace shm
