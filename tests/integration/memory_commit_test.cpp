// Committed memory: shmd allocates a segment's memory at create, inside the daemon's own memory
// cgroup, and refuses a create the cgroup cannot back instead of being OOM-killed for it. Each
// test runs a real shmd in a fresh cgroup v1 memory cgroup limited to 64 MiB.

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon_process.hpp"
#include "memory_cgroup.hpp"
#include "shm/shm.hpp"

namespace {

using shm::Errc;
using shm::test::DaemonProcess;
using shm::test::MemoryCgroup;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kLimit = 64 * kMiB;

shm::SegmentSpec int_array(std::uint64_t length) {
  shm::SegmentSpec spec;
  spec.typecode = 'i';
  spec.kind = shm::Kind::array;
  spec.length = length;
  return spec;
}

class MemoryCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (MemoryCgroup::own_v1_cgroup().empty())
      GTEST_SKIP() << "no cgroup v1 memory controller is mounted at its root (these tests limit shmd "
                      "with memory.limit_in_bytes)";
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    cgroup_ = std::make_unique<MemoryCgroup>("shmd-test-" + std::to_string(::getpid()) + "-" + test->name(), kLimit);
    daemon_ = std::make_unique<DaemonProcess>();
    cgroup_->add(daemon_->pid());
  }

  void TearDown() override {
    daemon_.reset();  // before the cgroup, which can only be removed once it is empty
    cgroup_.reset();
  }

  std::unique_ptr<MemoryCgroup> cgroup_;   ///< 64 MiB, holds the daemon
  std::unique_ptr<DaemonProcess> daemon_;  ///< moved into cgroup_ once it serves
};

TEST_F(MemoryCommitTest, CreateTooBigForTheDaemonsCgroupFailsAndTheDaemonKeepsServing) {
  shm::Client client(daemon_->socket_path());
  const std::uint64_t before = cgroup_->usage();

  // bulk_square's array: 64 Mi 'i' elements, 256 MiB, four times the cgroup's limit.
  std::error_code ec;
  client.create_detached("big", int_array(64 * kMiB), ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  const std::string message = shm::last_error_message();
  EXPECT_NE(message.find("segment of 268435584 bytes cannot be committed to memory"), std::string::npos) << message;
  EXPECT_NE(message.find("memory cgroup " + cgroup_->dir().string() + " (limit 67108864"), std::string::npos)
      << message;

  // Just under the limit is refused too: the daemon keeps a reserve for itself.
  client.create_detached("almost", int_array((kLimit - 4 * kMiB) / sizeof(int)), ec);
  EXPECT_EQ(ec, Errc::limit_exceeded) << shm::last_error_message();

  ASSERT_TRUE(daemon_->running());
  client.create_detached("small", int_array(1));
  const auto listed = client.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "small");

  // The kernel never had to refuse a charge, let alone kill, and nothing of the refused creates
  // stayed charged.
  EXPECT_EQ(cgroup_->failcnt(), 0u);
  EXPECT_EQ(cgroup_->oom_kills(), 0u);
  EXPECT_LT(cgroup_->usage(), before + 4 * kMiB);
}

TEST_F(MemoryCommitTest, CreateChargesTheWholeSegmentAtOnceAndRemoveReleasesIt) {
  shm::Client client(daemon_->socket_path());
  const std::uint64_t before = cgroup_->usage();

  // Nobody maps or touches it: the pages come from the create alone.
  const auto info = client.create_detached("eight", int_array(8 * kMiB / sizeof(int)));
  // usage_in_bytes runs up to a charge batch per CPU (64 pages each) behind; 1 MiB covers that.
  EXPECT_GE(cgroup_->usage() + kMiB, before + info.mapping_bytes);

  client.remove("eight");
  EXPECT_LT(cgroup_->usage(), before + kMiB);
  EXPECT_EQ(cgroup_->failcnt(), 0u);
  EXPECT_TRUE(daemon_->running());
}

TEST_F(MemoryCommitTest, SegmentsUpToTheHeadroomFitAndTheNextOneIsRefused) {
  shm::Client client(daemon_->socket_path());
  // 4 MiB at a time until the daemon says no: it must say so before the kernel does.
  int created = 0;
  std::error_code ec;
  while (!ec && created < 64) {
    client.create_detached("part" + std::to_string(created), int_array(4 * kMiB / sizeof(int)), ec);
    if (!ec) ++created;
  }
  EXPECT_EQ(ec, Errc::limit_exceeded) << shm::last_error_message();
  EXPECT_GE(created, 8);   // 64 MiB less the 16 MiB reserve and what the daemon itself uses
  EXPECT_LT(created, 16);  // never the whole limit
  EXPECT_EQ(cgroup_->failcnt(), 0u);
  EXPECT_EQ(cgroup_->oom_kills(), 0u);
  ASSERT_TRUE(daemon_->running());
  EXPECT_EQ(client.list().size(), static_cast<std::size_t>(created));
}

}  // namespace
