#pragma once
/// DaemonProcess: a real shmd child process on a private temporary socket, for one test.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "shm/unique_fd.hpp"

namespace shm::test {

/// Starts `SHMD_BIN --socket <tmpdir>/shmd.sock --ready-fd N <extra_args>` and returns once the
/// daemon has reported readiness on the pipe (never sleeps). The temporary directory is unique per
/// instance, so tests run in parallel. The destructor sends SIGTERM, waits, fails the test unless the
/// daemon exited with 0, and removes the dir.
class DaemonProcess {
 public:
  /// Called with the fresh temporary directory before the daemon starts (e.g. to plant a stale socket).
  using Prepare = std::function<void(const std::filesystem::path& dir)>;

  /// Starts the daemon; fails the current test (ADD_FAILURE + throws) if it does not come up.
  explicit DaemonProcess(std::vector<std::string> extra_args = {}, const Prepare& prepare = {});
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess();

  /// The daemon's socket path.
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_path_; }
  /// The per-test temporary directory (socket and daemon log live here).
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  /// The daemon's pid.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Everything the daemon wrote to stderr so far.
  [[nodiscard]] std::string log() const;
  /// Number of fds the daemon has open now (from /proc/PID/fd).
  [[nodiscard]] std::size_t open_fds() const;
  /// Sends `sig` and waits for the process; returns its wait status.
  int stop(int sig);
  /// True while the daemon process has not exited.
  [[nodiscard]] bool running() const;

 private:
  std::filesystem::path dir_;  ///< unique temporary directory
  std::string socket_path_;    ///< dir_/shmd.sock
  pid_t pid_ = -1;             ///< the daemon, or -1 once reaped
};

}  // namespace shm::test
