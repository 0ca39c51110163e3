// Huge pages through a real shmd: a large segment's memory comes in huge pages (the kernel gives
// a memfd none of its own accord), and every client's mapping of it, read-write or read-only,
// maps them whole, so a loop over a large Array walks one page table entry per huge page.

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <type_traits>

#include "daemon_process.hpp"
#include "memory_pages.hpp"
#include "shm/huge_pages.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::DaemonProcess;
using shm::test::no_huge_pages_here;

/// The start of `a`'s mapping: the header, data_offset bytes before the elements.
template <typename T>
const std::byte* mapping_of(const shm::Array<T>& a, const shm::SegmentInfo& info) {
  return reinterpret_cast<const std::byte*>(a.data()) - info.data_offset;
}

template <typename T>
long huge_kb_mapped(const shm::Array<T>& a, const shm::SegmentInfo& info) {
  volatile std::remove_const_t<T> sink{};
  for (std::size_t i = 0; i < a.size(); i += 4096 / sizeof(T)) sink = a.data()[i];
  (void)sink;
  return shm::test::smaps_kb(mapping_of(a, info), "ShmemPmdMapped");
}

TEST(HugePages, EveryClientMapsALargeArrayWithHugePagesAndSeesTheSameElements) {
  if (const std::string why = no_huge_pages_here(); !why.empty()) GTEST_SKIP() << why;
  const std::size_t huge = shm::huge_page_size();
  DaemonProcess daemon;
  shm::Client creator(daemon.socket_path());
  const std::size_t n = 2 * huge / sizeof(int) + 1000;  // two huge pages and a bit
  auto made = creator.create_array<int>("lab.big", n);
  for (const int x : made) EXPECT_EQ(x, 0);  // zeroed, huge pages and small alike
  std::iota(made.begin(), made.end(), 0);
  const shm::SegmentInfo info = creator.info("lab.big");

  shm::Client writer(daemon.socket_path());
  shm::Client reader(daemon.socket_path());
  auto rw = writer.attach_array<int>("lab.big");
  auto ro = reader.attach_array<const int>("lab.big");
  for (const auto* a : {mapping_of(made, info), mapping_of(rw, info), mapping_of(ro, info)})
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % huge, 0U) << "mapping at " << a;
  // The file is two huge pages and 4,128 bytes: the two are huge, the rest is not.
  EXPECT_EQ(huge_kb_mapped(made, info), static_cast<long>(2 * huge / 1024));
  EXPECT_EQ(huge_kb_mapped(rw, info), static_cast<long>(2 * huge / 1024));
  EXPECT_EQ(huge_kb_mapped(ro, info), static_cast<long>(2 * huge / 1024));

  // One file behind all three: what the creator wrote, at the edges of the huge pages too.
  for (const std::size_t i : {std::size_t{0}, huge / sizeof(int) - 32, huge / sizeof(int) - 31, n - 1})
    EXPECT_EQ(ro.data()[i], static_cast<int>(i)) << "element " << i;
  rw.data()[huge / sizeof(int)] = -5;
  EXPECT_EQ(ro.data()[huge / sizeof(int)], -5);
  EXPECT_EQ(made.data()[huge / sizeof(int)], -5);
}

TEST(HugePages, ADaemonToldNoHugePagesGivesSmallOnes) {
  if (const std::string why = no_huge_pages_here(); !why.empty()) GTEST_SKIP() << why;
  const std::size_t huge = shm::huge_page_size();
  DaemonProcess daemon({"--no-huge-pages"});
  shm::Client client(daemon.socket_path());
  auto a = client.create_array<int>("lab.big", 2 * huge / sizeof(int));
  const shm::SegmentInfo info = client.info("lab.big");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(mapping_of(a, info)) % huge, 0U);  // aligned all the same
  EXPECT_EQ(huge_kb_mapped(a, info), 0);
  for (const int x : a) ASSERT_EQ(x, 0);
}

TEST(HugePages, ASmallSegmentIsMappedAsBefore) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto a = client.create_array<int>("lab.small", 1000);
  const shm::SegmentInfo info = client.info("lab.small");
  EXPECT_EQ(huge_kb_mapped(a, info), 0);
}

}  // namespace
