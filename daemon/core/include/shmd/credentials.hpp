#pragma once
/// Credentials: who is on the other end of a connection (SO_PEERCRED, SO_PEERGROUPS).

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace shmd {

/// A peer's identity as the kernel reported it at connect time.
struct Credentials {
  uid_t uid = 0;                ///< effective user id
  gid_t gid = 0;                ///< effective group id
  pid_t pid = 0;                ///< process id
  std::vector<gid_t> groups{};  ///< supplementary groups (SO_PEERGROUPS)

  /// True for root, which passes every permission check (like CAP_IPC_OWNER).
  [[nodiscard]] bool privileged() const noexcept { return uid == 0; }
  /// True when `g` is the primary group or a supplementary one.
  [[nodiscard]] bool in_group(gid_t g) const noexcept {
    return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
  }
};

}  // namespace shmd
