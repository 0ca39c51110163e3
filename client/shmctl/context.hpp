#pragma once
/// Context: what every shmctl command needs: the socket path, a connection and the output streams.

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "command_error.hpp"
#include "shm/shm.hpp"

namespace shmctl {

/// Shared state for one shmctl run. Connects lazily, so `--help` and usage errors never need a
/// daemon.
class Context {
 public:
  /// A context for the daemon at `socket_path`, writing results to `out` and warnings to `err`.
  Context(std::string socket_path, std::ostream& out, std::ostream& err);

  /// The connection, opened on first use; throws CommandError (exit 3) if the daemon is unreachable.
  shm::Client& client();
  /// The socket shmctl talks to.
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_path_; }
  /// Where results go (stdout).
  [[nodiscard]] std::ostream& out() const noexcept { return out_; }
  /// Where warnings and per-item failures go (stderr).
  [[nodiscard]] std::ostream& err() const noexcept { return err_; }

  /// The CommandError for a failed library call; `what` names the operation and segment.
  [[nodiscard]] CommandError failure(const std::error_code& ec, std::string_view what) const;
  /// Prints "shmctl: <message>" on err().
  void report(std::string_view message) const;

 private:
  std::string socket_path_;            ///< --socket
  std::ostream& out_;                  ///< results
  std::ostream& err_;                  ///< diagnostics
  std::optional<shm::Client> client_;  ///< connected on first use
};

}  // namespace shmctl
