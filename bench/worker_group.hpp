#pragma once
/// WorkerGroup: worker processes that start together, timed from the start to the last finish.

#include <chrono>
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

 private:
  std::string worker_path_;              ///< the worker binary
  Pipe go_;                              ///< closing its write end starts the workers
  Pipe report_;                          ///< workers write GateReports here
  std::vector<ChildProcess> children_;   ///< the spawned workers
};

}  // namespace shm::bench
