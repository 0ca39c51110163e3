#include "shmd/event_loop.hpp"

#include <sched.h>

#include <algorithm>

namespace shmd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

/// The smallest window worth polling for, and where a window grows from after it was none
/// (KVM's halt polling starts growing at the same 10 us).
constexpr microseconds kGrowStart{10};

/// The busy-poll window, adapted the way KVM adapts its halt polling. A sleep that ended within
/// the longest window allowed was one that a longer window would have caught: the window grows,
/// doubling. A sleep longer than that was one no window allowed would have caught: the window
/// halves, and below kGrowStart it is none. Requests that come back to back keep it at the
/// longest; requests too far apart to catch bring it down to nothing, so that each one no longer
/// costs a whole window of spinning.
class PollWindow {
 public:
  explicit PollWindow(microseconds longest) noexcept : longest_(longest), current_(longest) {}

  [[nodiscard]] microseconds current() const noexcept { return current_; }

  /// Adapts to a sleep of `slept` (the wait for the next event, and that event's handler).
  void after_sleep(Clock::duration slept) noexcept {
    if (slept <= longest_) {
      current_ = current_ < kGrowStart ? std::min(kGrowStart, longest_) : std::min(current_ * 2, longest_);
    } else {
      current_ /= 2;
      if (current_ < kGrowStart) current_ = microseconds::zero();
    }
  }

 private:
  microseconds longest_;  ///< the window asked for
  microseconds current_;  ///< the window now
};

}  // namespace

void run_event_loop(asio::io_context& io, microseconds busy_poll) {
  if (busy_poll <= microseconds::zero()) {
    io.run();
    return;
  }
  PollWindow window(busy_poll);
  // run_one() sleeps in epoll_wait until something happens; poll() never sleeps. Both return 0
  // once the io_context is stopped or out of work, as run() would.
  for (;;) {
    const auto sleep_began = Clock::now();
    if (io.run_one() == 0) return;
    auto now = Clock::now();
    window.after_sleep(now - sleep_began);
    auto idle_until = now + window.current();
    while (!io.stopped()) {
      if (io.poll() > 0) {
        idle_until = Clock::now() + window.current();
        continue;
      }
      if (Clock::now() >= idle_until) break;
      ::sched_yield();
    }
  }
}

}  // namespace shmd
