#pragma once
/// CPU time of a process, in nanoseconds, from the scheduler's own accounting.

#include <sys/types.h>

#include <cstdint>

namespace shm::bench {

/// CPU time (user + system) that process `pid` and all its threads, live or gone, have used so
/// far: its process CPU clock (clock_getcpuclockid), which reads the scheduler's sum_exec_runtime
/// (the ns of /proc/PID/schedstat, summed over threads), not /proc/PID/stat's 10 ms ticks.
/// Throws std::system_error if the process is gone.
std::int64_t process_cpu_ns(pid_t pid);

/// This process's CPU time so far (CLOCK_PROCESS_CPUTIME_ID).
std::int64_t own_cpu_ns() noexcept;

}  // namespace shm::bench
