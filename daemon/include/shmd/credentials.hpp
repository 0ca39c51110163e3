#pragma once
/// Credentials: who is on the other end of a connection (SO_PEERCRED).

#include <sys/types.h>

namespace shmd {

/// A peer's identity as the kernel reported it at accept time.
struct Credentials {
  uid_t uid = 0;  ///< effective user id
  gid_t gid = 0;  ///< effective group id
  pid_t pid = 0;  ///< process id
};

}  // namespace shmd
