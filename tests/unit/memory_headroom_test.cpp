// MemoryHeadroom over fake /proc and cgroup trees: which bound is the tightest (MemAvailable, each
// level of a v1 or v2 memory cgroup), and what admit() refuses.

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "shmd/memory_headroom.hpp"

namespace {

namespace fs = std::filesystem;
using shmd::MemoryHeadroom;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

/// A temporary directory that plays the root of /proc and /sys.
class FakeRoot {
 public:
  FakeRoot()
      : dir_(fs::temp_directory_path() /
             ("shmd-headroom-" + std::to_string(::getpid()) + "-" + std::to_string(next_++))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  /// Writes `text` to `path` (absolute, as on the real system) under the fake root.
  void write(const fs::path& path, const std::string& text) const {
    const fs::path at = dir_ / path.relative_path();
    fs::create_directories(at.parent_path());
    std::ofstream(at) << text;
  }
  /// The fake root.
  [[nodiscard]] const fs::path& dir() const noexcept { return dir_; }

 private:
  static inline int next_ = 0;  ///< one directory per instance
  fs::path dir_;                ///< the fake root
};

// mountinfo lines as a Debian 12 host with both hierarchies shows them.
const std::string kV1Mount =
    "35 26 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n";
const std::string kV2Mount =
    "29 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
const std::string kOtherMounts =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "36 26 0:31 / /sys/fs/cgroup/pids rw,relatime shared:16 - cgroup cgroup rw,pids\n";

void write_meminfo(const FakeRoot& root, std::uint64_t available_kib) {
  root.write("/proc/meminfo", "MemTotal:       24683652 kB\nMemFree:        17765028 kB\nMemAvailable:   " +
                                  std::to_string(available_kib) + " kB\nBuffers:           16184 kB\n");
}

void write_v1(const FakeRoot& root, const std::string& cgroup, std::uint64_t limit, std::uint64_t usage) {
  root.write("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes", std::to_string(limit) + "\n");
  root.write("/sys/fs/cgroup/memory" + cgroup + "/memory.usage_in_bytes", std::to_string(usage) + "\n");
}

TEST(MemoryHeadroom, TheTightestV1LevelBoundsEvenAboveTheDaemonsOwnCgroup) {
  FakeRoot root;
  root.write("/proc/self/mountinfo", kOtherMounts + kV1Mount);
  root.write("/proc/self/cgroup", "5:pids:/a/b\n4:memory:/a/b\n0::/\n");
  write_meminfo(root, 1024 * 1024);  // 1 GiB
  write_v1(root, "", 9223372036854771712, 900 * kMiB);
  write_v1(root, "/a", 32 * kMiB, 30 * kMiB);  // the parent has 2 MiB left
  write_v1(root, "/a/b", 64 * kMiB, 1 * kMiB);
  const auto reading = MemoryHeadroom(root.dir()).measure();
  EXPECT_EQ(reading.bytes, 2 * kMiB);
  EXPECT_EQ(reading.bound, "memory cgroup /sys/fs/cgroup/memory/a (limit 33554432, usage 31457280)");
}

TEST(MemoryHeadroom, MemAvailableBoundsWhenNoCgroupIsTighter) {
  FakeRoot root;
  root.write("/proc/self/mountinfo", kOtherMounts + kV1Mount);
  root.write("/proc/self/cgroup", "4:memory:/a\n");
  write_meminfo(root, 100 * 1024);  // 100 MiB
  write_v1(root, "/a", 9223372036854771712, 5 * kMiB);
  const auto reading = MemoryHeadroom(root.dir()).measure();
  EXPECT_EQ(reading.bytes, 100 * kMiB);
  EXPECT_EQ(reading.bound, "the system (MemAvailable 104857600)");
}

TEST(MemoryHeadroom, V2UsesMemoryMaxAndCurrentAndSkipsMax) {
  FakeRoot root;
  root.write("/proc/self/mountinfo", kOtherMounts + kV2Mount);
  root.write("/proc/self/cgroup", "0::/system.slice/shmd.service\n");
  write_meminfo(root, 1024 * 1024);
  root.write("/sys/fs/cgroup/system.slice/memory.max", "max\n");
  root.write("/sys/fs/cgroup/system.slice/memory.current", "734003200\n");
  root.write("/sys/fs/cgroup/system.slice/shmd.service/memory.max", "67108864\n");
  root.write("/sys/fs/cgroup/system.slice/shmd.service/memory.current", "4194304\n");
  const auto reading = MemoryHeadroom(root.dir()).measure();
  EXPECT_EQ(reading.bytes, 60 * kMiB);
  EXPECT_EQ(reading.bound, "memory cgroup /sys/fs/cgroup/system.slice/shmd.service (limit 67108864, usage 4194304)");
}

TEST(MemoryHeadroom, AMountOfACgroupBelowTheRootMapsPathsRelativeToIt) {
  // A container that sees only its own cgroup, mounted at /sys/fs/cgroup/memory.
  FakeRoot root;
  root.write("/proc/self/mountinfo",
             "40 30 0:30 /docker/abc /sys/fs/cgroup/memory ro,nosuid,relatime - cgroup cgroup rw,memory\n");
  root.write("/proc/self/cgroup", "4:memory:/docker/abc/app\n");
  write_meminfo(root, 1024 * 1024);
  write_v1(root, "", 128 * kMiB, 100 * kMiB);  // the container: 28 MiB left
  write_v1(root, "/app", 512 * kMiB, 10 * kMiB);
  const auto reading = MemoryHeadroom(root.dir()).measure();
  EXPECT_EQ(reading.bytes, 28 * kMiB);
  EXPECT_EQ(reading.bound, "memory cgroup /sys/fs/cgroup/memory (limit 134217728, usage 104857600)");
}

TEST(MemoryHeadroom, AdmitKeepsTheReserveAndSaysWhyItRefuses) {
  FakeRoot root;
  root.write("/proc/self/mountinfo", kV1Mount);
  root.write("/proc/self/cgroup", "4:memory:/t\n");
  write_meminfo(root, 1024 * 1024);
  write_v1(root, "/t", 64 * kMiB, 8 * kMiB);  // 56 MiB left, 40 of them past the reserve
  MemoryHeadroom headroom(root.dir());
  EXPECT_TRUE(headroom.admit(40 * kMiB).ok());
  write_v1(root, "/t", 64 * kMiB, 48 * kMiB);  // what that create charged
  const auto refused = headroom.admit(1 * kMiB);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().code, shm::Errc::limit_exceeded);
  EXPECT_EQ(refused.failure().message,
            "segment of 1048576 bytes cannot be committed to memory: 16777216 bytes are left in memory cgroup "
            "/sys/fs/cgroup/memory/t (limit 67108864, usage 50331648), and shmd keeps 16777216 of them free, so "
            "that the kernel's OOM killer does not kill it");
}

TEST(MemoryHeadroom, ASmallRequestNearTheBoundSeesTheCurrentUsage) {
  FakeRoot root;
  root.write("/proc/self/mountinfo", kV1Mount);
  root.write("/proc/self/cgroup", "4:memory:/t\n");
  write_meminfo(root, 1024 * 1024);
  write_v1(root, "/t", 40 * kMiB, 0);
  MemoryHeadroom headroom(root.dir());
  EXPECT_TRUE(headroom.admit(4096).ok());
  write_v1(root, "/t", 40 * kMiB, 30 * kMiB);  // someone else in the cgroup took memory
  EXPECT_FALSE(headroom.admit(4096).ok());
}

TEST(MemoryHeadroom, WithoutProcNothingBounds) {
  FakeRoot root;
  const auto reading = MemoryHeadroom(root.dir()).measure();
  EXPECT_EQ(reading.bytes, UINT64_MAX);
  EXPECT_TRUE(MemoryHeadroom(root.dir()).admit(std::uint64_t{1} << 40).ok());
}

TEST(MemoryHeadroom, TheRealSystemHasABound) {
  // This machine has /proc/meminfo at least; the reading is what the daemon would refuse on.
  const auto reading = MemoryHeadroom().measure();
  EXPECT_LT(reading.bytes, UINT64_MAX) << reading.bound;
  EXPECT_FALSE(reading.bound.empty());
}

}  // namespace
