#include "cpu_time.hpp"

#include <time.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace shm::bench {
namespace {

std::int64_t ns(const timespec& ts) { return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec; }

}  // namespace

std::int64_t process_cpu_ns(pid_t pid) {
  clockid_t clock{};
  if (const int err = ::clock_getcpuclockid(pid, &clock); err != 0)
    throw std::system_error(err, std::generic_category(), "clock_getcpuclockid " + std::to_string(pid));
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0)
    throw std::system_error(errno, std::generic_category(), "CPU clock of " + std::to_string(pid));
  return ns(ts);
}

std::int64_t own_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ns(ts);
}

}  // namespace shm::bench
