// idle_daemon: what shmd costs while nothing happens. 100 clients stay connected and silent for
// 10 s; the daemon's CPU time in that time is the figure (goal: under 10 ms).

#include <time.h>

#include <cstdio>
#include <iostream>
#include <vector>

#include "cpu_time.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "shm/shm.hpp"

namespace shm::bench {
namespace {

constexpr std::size_t kIdleClients = 100;
constexpr double kIdleSeconds = 10;

void sleep_for_ns(std::int64_t ns) {
  timespec left{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (::nanosleep(&left, &left) != 0) {
  }
}

}  // namespace

void idle_daemon(const BenchConfig& config, Report& report) {
  std::vector<Client> clients;
  clients.reserve(kIdleClients);
  for (std::size_t i = 0; i < kIdleClients; ++i) clients.emplace_back(config.socket);  // each has said Hello
  // A quick run waits a fifth as long and scales the CPU time up to 10 s.
  const double seconds = config.quick ? kIdleSeconds / 5 : kIdleSeconds;
  const std::int64_t cpu_before = process_cpu_ns(config.daemon_pid);
  const std::int64_t start = monotonic_ns();
  sleep_for_ns(static_cast<std::int64_t>(seconds * 1e9));
  const std::int64_t waited = monotonic_ns() - start;
  const std::int64_t used = process_cpu_ns(config.daemon_pid) - cpu_before;
  const double ms_per_10s = static_cast<double>(used) / 1e6 * (kIdleSeconds * 1e9 / static_cast<double>(waited));
  char note[200];
  std::snprintf(note, sizeof note,
                "daemon CPU time (process CPU clock) while %zu connected clients sent nothing for %.1f s%s; "
                "timed from right after the last Hello, so the busy-poll window that follows it is in",
                kIdleClients, static_cast<double>(waited) / 1e9, config.quick ? ", scaled to 10 s" : "");
  report.absolute("cpu/idle_daemon_10s", ms_per_10s, "ms", 10.0, false, note);
  std::cerr << "shmd_bench: idle_daemon done\n";
}

}  // namespace shm::bench
