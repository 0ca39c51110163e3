#include "shmd/event_loop.hpp"

#include <sched.h>

namespace shmd {

void run_event_loop(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll <= std::chrono::microseconds::zero()) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  // run_one() sleeps in epoll_wait until something happens; poll() never sleeps. Both return 0
  // once the io_context is stopped or out of work, as run() would.
  while (io.run_one() > 0) {
    auto idle_until = Clock::now() + busy_poll;
    while (!io.stopped()) {
      if (io.poll() > 0) {
        idle_until = Clock::now() + busy_poll;
        continue;
      }
      if (Clock::now() >= idle_until) break;
      ::sched_yield();
    }
  }
}

}  // namespace shmd
