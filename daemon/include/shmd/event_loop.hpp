#pragma once
/// run_event_loop(): the daemon's io_context::run(), with a bounded busy-poll after each burst.

#include <asio/io_context.hpp>

#include <chrono>

namespace shmd {

/// Runs `io` until it is stopped or runs out of work, like `io.run()`. With a non-zero
/// `busy_poll`, after each burst of handlers it keeps polling for new events (an epoll_wait that
/// does not block, with sched_yield() between polls so that any other runnable thread on this
/// CPU goes first) for that long before it sleeps. A client that makes requests back to back
/// then finds the daemon awake: on a virtual machine, waking a CPU that went idle costs tens of
/// microseconds, more than the request itself (shm/busy_poll.hpp). The cost is at most
/// `busy_poll` of CPU time per burst, and less where it does not pay: the window adapts as KVM's
/// halt polling does, growing (up to `busy_poll`) while the loop's sleeps are ones a longer window
/// would have caught, and shrinking to nothing while they are longer than `busy_poll`.
/// Exceptions from handlers propagate.
void run_event_loop(asio::io_context& io, std::chrono::microseconds busy_poll);

}  // namespace shmd
