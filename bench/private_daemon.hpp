#pragma once
/// PrivateDaemon: a second shmd of the bench's own, for the figures that run shmd another way.

#include <string>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace shm::bench {

/// A shmd started on a socket in a private directory with extra arguments (e.g. --busy-poll-us 0),
/// ready once constructed (it said READY through --ready-fd: no sleeping), stopped with SIGTERM
/// when destroyed.
class PrivateDaemon {
 public:
  /// Starts `shmd` with `args` after its socket and ready-fd; throws std::runtime_error if it
  /// does not come up.
  PrivateDaemon(const std::string& shmd, const std::vector<std::string>& args);
  PrivateDaemon(const PrivateDaemon&) = delete;
  PrivateDaemon& operator=(const PrivateDaemon&) = delete;
  ~PrivateDaemon();

  /// Its socket.
  [[nodiscard]] const std::string& socket() const noexcept { return socket_; }
  /// Its process id.
  [[nodiscard]] pid_t pid() const noexcept { return process_.pid(); }

 private:
  TempDir dir_;           ///< holds the socket
  std::string socket_;    ///< dir_/s
  ChildProcess process_;  ///< the daemon
};

}  // namespace shm::bench
