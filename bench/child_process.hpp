#pragma once
/// ChildProcess: one spawned program, waited for (or killed) before it goes out of scope.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace shm::bench {

/// A program started with posix_spawn. The child sees only stdio plus the descriptors passed in
/// `fds` (each as {descriptor here, number in the child}). Destroying a child that was not
/// waited for kills it with SIGKILL and reaps it. Move-only.
class ChildProcess {
 public:
  /// Spawns `argv[0]` (searched in PATH) with `argv`; throws std::system_error on failure.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::pair<int, int>>& fds = {});
  ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  /// Waits for the child; throws std::runtime_error unless it exited with status 0.
  void wait();
  /// Sends SIGTERM and waits, as wait() does (a daemon that stops on SIGTERM exits with 0).
  void terminate();
  /// The child's process id (-1 once reaped).
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;    ///< the running child, or -1 once reaped
  std::string name_;  ///< argv[0], for messages
};

}  // namespace shm::bench
