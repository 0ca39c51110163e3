#pragma once
/// MemoryCgroup: a memory-limited cgroup v1 for one test, removed again afterwards.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace shm::test {

/// A child of this process's own cgroup in the v1 memory hierarchy, with memory.limit_in_bytes
/// set. The destructor moves whatever tasks are still in it to the parent and removes it, also
/// when the test failed.
class MemoryCgroup {
 public:
  /// This process's cgroup directory in the v1 memory hierarchy (from /proc/self/mountinfo and
  /// /proc/self/cgroup), or empty when no v1 memory controller is mounted.
  static std::filesystem::path own_v1_cgroup();

  /// Creates `own_v1_cgroup()/name` limited to `limit_bytes`; throws std::system_error if it cannot.
  MemoryCgroup(const std::string& name, std::uint64_t limit_bytes);
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  ~MemoryCgroup();

  /// Moves process `pid` into the cgroup; throws std::system_error if it cannot.
  void add(pid_t pid) const;
  /// memory.usage_in_bytes: what is charged to the cgroup now.
  [[nodiscard]] std::uint64_t usage() const;
  /// memory.failcnt: how often a charge hit the limit.
  [[nodiscard]] std::uint64_t failcnt() const;
  /// oom_kill of memory.oom_control: tasks the memcg OOM killer has killed in it.
  [[nodiscard]] std::uint64_t oom_kills() const;
  /// The cgroup's directory.
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;  ///< own_v1_cgroup()/name
};

}  // namespace shm::test
