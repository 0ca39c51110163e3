#pragma once
/// LabError: a failure that ends shm-lab with a message and a chosen exit status.

#include <stdexcept>
#include <string>

namespace shm::lab {

/// Exit status when a task ran but failed (wrong value, a child failed, a daemon error).
inline constexpr int kExitFailure = 1;
/// Exit status for a command-line usage error.
inline constexpr int kExitUsage = 2;
/// Exit status when shmd cannot be reached (the same as shmctl's).
inline constexpr int kExitUnreachable = 3;

/// An error that main() prints as `shm-lab: <what>` before exiting with exit_code().
class LabError : public std::runtime_error {
 public:
  /// An error with its message and the exit status it should cause.
  explicit LabError(const std::string& what, int exit_code = kExitFailure)
      : std::runtime_error(what), exit_code_(exit_code) {}
  /// The process exit status this error should cause.
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;  ///< the exit status to use
};

}  // namespace shm::lab
