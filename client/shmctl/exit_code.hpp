#pragma once
/// ExitCode: shmctl's documented exit statuses.

namespace shmctl {

/// What shmctl's exit status means; scripts rely on these values.
enum class ExitCode : int {
  ok = 0,           ///< everything asked for was done
  failed = 1,       ///< the daemon refused or an operation failed (not found, exists, denied, limit...)
  usage = 2,        ///< the command line was wrong (bad option, --type, value or mode)
  unreachable = 3,  ///< the daemon's socket could not be reached
};

}  // namespace shmctl
