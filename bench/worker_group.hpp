#pragma once
/// WorkerGroup: worker processes that start together, timed from the start to the last finish.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "pipe.hpp"

namespace shm::bench {

/// Spawns bench workers, lets them set up (connect, attach, map), releases them all at once,
/// and measures from the release to the moment the last one finished its loop. Process start,
/// attach and exit are outside the measurement.
class WorkerGroup {
 public:
  /// Workers run `worker_path` (the shmd_bench_worker binary).
  explicit WorkerGroup(std::string worker_path);

  /// Spawns one worker with `args`; `resource` (if >= 0) becomes its descriptor 5.
  void add(const std::vector<std::string>& args, int resource = -1);
  /// Waits for every worker to be ready, releases them, and returns the time until the last
  /// finished. Throws std::runtime_error if a worker fails.
  std::chrono::nanoseconds run();

  /// Has run() also measure the CPU time of process `pid` (a server the workers talk to) from
  /// the release to the last finish. It must outlive run().
  void watch(pid_t pid) { watched_.push_back(pid); }
  /// After run(): the CPU time the workers used in their loops, summed over them.
  [[nodiscard]] std::chrono::nanoseconds workers_cpu() const noexcept { return workers_cpu_; }
  /// After run(): the CPU time the watched processes used from the release to the last finish.
  [[nodiscard]] std::chrono::nanoseconds watched_cpu() const noexcept { return watched_cpu_; }

 private:
  /// The watched processes' CPU time so far, summed.
  [[nodiscard]] std::int64_t watched_cpu_ns() const;

  std::string worker_path_;                 ///< the worker binary
  Pipe go_;                                 ///< closing its write end starts the workers
  Pipe report_;                             ///< workers write GateReports here
  std::vector<ChildProcess> children_;      ///< the spawned workers
  std::vector<pid_t> watched_;              ///< processes whose CPU time run() measures
  std::chrono::nanoseconds workers_cpu_{};  ///< the workers' CPU time in their loops
  std::chrono::nanoseconds watched_cpu_{};  ///< the watched processes' CPU time in the run
};

}  // namespace shm::bench
