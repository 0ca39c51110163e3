#pragma once
/// CommandError: a failure that ends a shmctl command with a message and an exit code.

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "exit_code.hpp"

namespace shmctl {

/// Thrown by commands; main prints "shmctl: <what>" and exits with exit_code().
class CommandError : public std::runtime_error {
 public:
  /// A failure with its message (without the "shmctl: " prefix) and exit status.
  CommandError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  /// A usage error (exit status 2).
  static CommandError usage(const std::string& message) { return {ExitCode::usage, message}; }

  /// The exit status this failure maps to.
  [[nodiscard]] ExitCode exit_code() const noexcept { return code_; }

 private:
  ExitCode code_;  ///< the exit status
};

/// The exit status for a libshmclient error code (the one place this mapping lives).
ExitCode exit_code_for(const std::error_code& ec) noexcept;

/// Builds the error for a failed library call: `what` says which operation on what; the detail
/// comes from `ec` and last_error_message(). Unreachable-daemon errors name `socket_path`.
CommandError failure(const std::error_code& ec, std::string_view what, std::string_view socket_path);

}  // namespace shmctl
