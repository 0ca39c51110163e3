#pragma once
/// ChildProcess: a real program run with posix_spawn, its output captured, for one test.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/unique_fd.hpp"

namespace shm::test {

/// Copies the program `binary` into `dir` (mode 0755) and returns the copy's path, so that another
/// user (setpriv) can run it even when the build tree sits under a directory only root may enter.
std::string copy_for_other_users(const std::string& binary, const std::string& dir);

/// What a finished program did.
struct RunResult {
  int exit_code = -1;  ///< exit status, or -1 if killed by a signal
  int signal = 0;      ///< the killing signal, or 0
  std::string out;     ///< everything written to stdout
  std::string err;     ///< everything written to stderr
};

/// This process's environment with `overrides` applied, as "KEY=VALUE" strings for a child.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides);

/// Waits up to `timeout` for child `pid` to exit and reaps it. Returns its wait status, or
/// nullopt if it is still running (it is then left alone).
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

/// Runs `argv` to completion (with extra environment variables `env`) and captures its output.
/// Fails the test if it runs longer than `timeout` (then it is killed).
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::seconds timeout = std::chrono::seconds(120));

/// A program started in the background, whose stdout can be read line by line (to await a
/// "ready" line it prints, instead of sleeping). Killed (SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  /// Starts `argv` with extra environment `env`; stderr goes to the test's stderr, stdin is a
  /// pipe from this object (see write_line / close_stdin). Throws if it cannot be started.
  explicit ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  /// Blocks until the child prints a full line on stdout and returns it (without '\n');
  /// returns "" at EOF. Fails the test after `timeout`.
  std::string read_line(std::chrono::seconds timeout = std::chrono::seconds(60));
  /// Writes `line` and a '\n' to the child's stdin.
  void write_line(std::string_view line);
  /// Closes the child's stdin, so a child that waits for EOF there finishes.
  void close_stdin();
  /// Sends `sig`.
  void kill(int sig);
  /// Waits for exit (failing the test and killing it after `timeout`) and returns the RunResult
  /// (out holds unread stdout; err is empty since stderr is inherited).
  RunResult wait(std::chrono::seconds timeout = std::chrono::seconds(120));
  /// The child's pid.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;       ///< the child, or -1 once reaped
  UniqueFd stdin_fd_;    ///< write end of the child's stdin pipe
  UniqueFd stdout_fd_;   ///< read end of the child's stdout pipe
  std::string pending_;  ///< bytes read past the last returned line
};

}  // namespace shm::test
