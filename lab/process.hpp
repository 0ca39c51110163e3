#pragma once
/// Process: a child started like Python multiprocessing's *spawn* method.

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "target.hpp"

namespace shm::lab {

/// The hidden first argument that makes shm-lab run a target instead of a task.
inline constexpr std::string_view kChildCommand = "__child";

/// A child process that runs one Target. start() posix_spawns a fresh copy of this program
/// (/proc/self/exe) whose command line names the target, the segment and the socket; the child
/// inherits no memory and no descriptor beyond stdin/stdout/stderr, so it must attach by name.
class Process {
 public:
  /// Prepares (does not start) process `name` running `target` on `segment` with `args`.
  Process(std::string name, const Target& target, SegmentRef segment, std::vector<std::string> args = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Joins a child still running: like Python at exit, a parent never leaves a child behind.
  ~Process();

  /// Starts the child; throws std::system_error if it cannot be spawned.
  void start();
  /// Waits until the child has exited; does nothing if it was already joined.
  void join();

  /// Python's exitcode: nullopt until joined, the exit status, or -N if killed by signal N.
  [[nodiscard]] std::optional<int> exitcode() const noexcept;
  /// How the child ended, for messages: "exited with status 1", "was killed by signal 9 (SIGKILL)".
  [[nodiscard]] std::string describe_exit() const;
  /// The process's name.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;               ///< the process's name, passed to the child for its messages
  std::string_view target_;        ///< the target's table name
  SegmentRef segment_;             ///< what the child attaches to
  std::vector<std::string> args_;  ///< the target's arguments
  pid_t pid_ = -1;                 ///< the running child, or -1 before start and after join
  std::optional<int> status_;      ///< the waitpid status once joined
};

/// Prints `shm-lab: <name> <how it ended>` on stderr for every process that did not exit with
/// status 0; true when all did.
bool report_failures(std::span<const Process> processes);

}  // namespace shm::lab
