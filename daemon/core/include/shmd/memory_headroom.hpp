#pragma once
/// MemoryHeadroom: how much memory shmd can still commit to segments before an OOM killer acts.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shm/result.hpp"

namespace shmd {

/// The memory a create may commit: the least of the system's MemAvailable and, at every level of
/// the daemon's own memory cgroup (v1 memory.limit_in_bytes - memory.usage_in_bytes, v2
/// memory.max - memory.current), what is left below the limit. It exists because a shmem
/// fallocate past a memory cgroup's limit does not fail: the kernel's memcg OOM killer runs in the
/// charge path and SIGKILLs a task of the cgroup, which is shmd itself (docs/design.md).
class MemoryHeadroom {
 public:
  /// Memory that every create leaves free: the daemon's own allocations come out of it.
  static constexpr std::uint64_t kReserve = std::uint64_t{16} << 20;

  /// One measurement: the bytes left, and where the tightest bound was found.
  struct Reading {
    std::uint64_t bytes = 0;  ///< the least headroom over every bound
    std::string bound;        ///< e.g. "memory cgroup /sys/fs/cgroup/memory/x (limit 67108864, usage 524288)"
  };

  /// Reads /proc and the cgroup file systems under `root` ("" is the real system; tests pass a
  /// fake tree). The mount points of the cgroup hierarchies are found once, here; the daemon's
  /// cgroup is looked up at each measurement, since it may be moved.
  explicit MemoryHeadroom(std::filesystem::path root = {});

  /// Measures now.
  [[nodiscard]] Reading measure() const;

  /// Refuses (LIMIT_EXCEEDED, saying how many bytes and which bound) a segment of `bytes` that
  /// would leave less than kReserve. A small request may be judged on a reading at most 100 ms
  /// old, less what was admitted since; a large one, a refusal, or one close to the bound
  /// measures afresh. Measuring costs tens of microseconds, more than a whole small create.
  shm::Result<void> admit(std::uint64_t bytes);

 private:
  /// A mounted cgroup hierarchy that accounts memory.
  struct Hierarchy {
    bool v2 = false;              ///< cgroup2 (memory.max/current) or v1 (limit_in_bytes/usage_in_bytes)
    std::filesystem::path mount;  ///< where it is mounted (under root_)
    std::string mount_root;       ///< the cgroup it shows at `mount` (mountinfo's 4th field)
  };

  /// `absolute` under root_.
  [[nodiscard]] std::filesystem::path at(const std::filesystem::path& absolute) const;
  /// The daemon's cgroup directory in `h` (from /proc/self/cgroup), or empty.
  [[nodiscard]] std::filesystem::path own_cgroup(const Hierarchy& h, const std::string& proc_cgroup) const;

  std::filesystem::path root_;                       ///< prefix of every path read
  std::vector<Hierarchy> hierarchies_;               ///< v1 "memory" and cgroup2 mounts
  std::optional<Reading> last_;                      ///< the last measurement, for small requests
  std::chrono::steady_clock::time_point last_at_{};  ///< when it was taken
  std::uint64_t admitted_since_ = 0;                 ///< bytes admitted since then
};

}  // namespace shmd
