#pragma once
/// GateReport: what a worker tells its WorkerGroup through the report pipe.

#include <cstdint>

namespace shm::bench {

/// Fixed descriptor numbers in every worker.
inline constexpr int kGoFd = 3;        ///< read end of the go pipe: EOF means start
inline constexpr int kReportFd = 4;    ///< write end of the report pipe
inline constexpr int kResourceFd = 5;  ///< the figure's own descriptor (memfd, socket), if any

/// One record on the report pipe. Small enough that a write is atomic (PIPE_BUF).
struct GateReport {
  /// What the record says.
  enum Kind : std::int64_t { ready = 1, done = 2, failed = 3 };
  std::int64_t kind;     ///< ready, done or failed
  std::int64_t mono_ns;  ///< CLOCK_MONOTONIC when it was sent (system-wide, so comparable)
  std::int64_t cpu_ns;   ///< done: the worker's CPU time from its release to now; else 0
};

/// CLOCK_MONOTONIC in nanoseconds.
std::int64_t monotonic_ns() noexcept;

}  // namespace shm::bench
