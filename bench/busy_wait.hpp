#pragma once
/// The busy polling of shmd's two ends, for the bench's polled references to poll alike.

#include <chrono>
#include <functional>

namespace shm::bench {

/// Waits until `fd` is readable as libshmclient waits for a reply (Connection::wait_readable_locked):
/// poll() with a zero timeout, sched_yield() between, for `window`; then sleeps in poll().
void wait_readable(int fd, std::chrono::microseconds window);

/// Runs a server loop as shmd's event loop runs its handlers (run_event_loop(),
/// daemon/src/event_loop.cpp), with the same shm::PollWindow. `serve(true)` sleeps until
/// something happens and handles it; `serve(false)` handles what is there without sleeping.
/// Each returns how many events it handled. After each sleep the loop keeps calling
/// `serve(false)`, with sched_yield() between calls that found nothing, until the window passes
/// without events. A window of 0 only sleeps, as `io_context::run()` does. Returns once `more()`
/// is false.
void run_polling_loop(std::chrono::microseconds busy_poll, const std::function<int(bool sleep)>& serve,
                      const std::function<bool()>& more);

}  // namespace shm::bench
