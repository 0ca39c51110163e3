#include "shmd/event_loop.hpp"

#include <sched.h>

#include "shm/poll_window.hpp"

namespace shmd {
namespace {

using Clock = shm::PollWindow::Clock;
using std::chrono::microseconds;

}  // namespace

void run_event_loop(asio::io_context& io, microseconds busy_poll) {
  if (busy_poll <= microseconds::zero()) {
    io.run();
    return;
  }
  shm::PollWindow window(busy_poll);
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
