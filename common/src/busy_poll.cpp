#include "shm/busy_poll.hpp"

#include <sched.h>

#include <algorithm>

namespace shm {

bool several_cpus_usable() noexcept {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  return ::sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) >= 2;
}

bool several_cpus_usable_by_this_thread() noexcept {
  thread_local constinit signed char several_cpus = -1;
  if (several_cpus < 0) several_cpus = several_cpus_usable() ? 1 : 0;
  return several_cpus == 1;
}

std::chrono::microseconds usable_busy_poll(std::chrono::microseconds requested) noexcept {
  if (!several_cpus_usable()) return std::chrono::microseconds::zero();
  return std::clamp(requested, std::chrono::microseconds::zero(), kMaxBusyPoll);
}

}  // namespace shm
