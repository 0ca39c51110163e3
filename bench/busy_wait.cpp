#include "busy_wait.hpp"

#include <poll.h>
#include <sched.h>

#include <cerrno>
#include <system_error>

#include "shm/poll_window.hpp"

namespace shm::bench {

using Clock = PollWindow::Clock;

void wait_readable(int fd, std::chrono::microseconds window) {
  pollfd p{fd, POLLIN, 0};
  if (window > std::chrono::microseconds::zero()) {
    const auto until = Clock::now() + window;
    do {
      const int rc = ::poll(&p, 1, 0);
      if (rc > 0 || (rc < 0 && errno != EINTR)) return;  // the read reports what is wrong
      ::sched_yield();
    } while (Clock::now() < until);
  }
  for (;;) {
    const int rc = ::poll(&p, 1, -1);
    if (rc > 0 || (rc < 0 && errno != EINTR)) return;
  }
}

void run_polling_loop(std::chrono::microseconds busy_poll, const std::function<int(bool sleep)>& serve,
                      const std::function<bool()>& more) {
  if (busy_poll <= std::chrono::microseconds::zero()) {
    while (more()) serve(true);
    return;
  }
  PollWindow window(busy_poll);
  while (more()) {
    const auto sleep_began = Clock::now();
    serve(true);
    auto now = Clock::now();
    window.after_sleep(now - sleep_began);
    auto idle_until = now + window.current();
    while (more()) {
      if (serve(false) > 0) {
        idle_until = Clock::now() + window.current();
        continue;
      }
      if (Clock::now() >= idle_until) break;
      ::sched_yield();
    }
  }
}

}  // namespace shm::bench
