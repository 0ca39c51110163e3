// Huge pages for large segments: create_segment_memfd backs every whole huge page of a segment
// with one (MADV_COLLAPSE, where the kernel's shmem policy would give a memfd none), and
// Mapping::map places large mappings where those pages can be mapped whole.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "memory_pages.hpp"
#include "shm/huge_pages.hpp"
#include "shm/mapping.hpp"
#include "shm/segment_layout.hpp"
#include "shm/unique_fd.hpp"
#include "shmd/segment_memory.hpp"

namespace {

using shm::test::is_mapped;
using shm::test::no_huge_pages_here;

shm::UniqueFd sized_memfd(std::size_t size) {
  shm::UniqueFd fd(::memfd_create("huge-pages-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd);
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  return fd;
}

/// The record of an Array of `length` elements of `typecode` (`element_size` bytes each).
shmd::SegmentRecord array_record(char typecode, std::uint32_t element_size, std::uint64_t length) {
  shmd::SegmentRecord record;
  record.name = "huge-pages";
  record.typecode = typecode;
  record.kind = shm::Kind::array;
  record.element_size = element_size;
  record.length = length;
  record.sizes = *shm::segment_sizes(element_size, length, shm::Kind::array);
  return record;
}

void touch_every_page(const shm::Mapping& m) {
  volatile std::byte sink{};
  for (std::size_t at = 0; at < m.size(); at += 4096) sink = m.data()[at];
  (void)sink;
}

TEST(HugePages, ALargeMappingStartsAtAHugePageBoundaryAndLeavesNoReservationBehind) {
  const std::size_t huge = shm::huge_page_size();
  if (huge == 0) GTEST_SKIP() << "the kernel has no transparent huge pages";
  const auto fd = sized_memfd(huge + 4096);
  std::byte* start = nullptr;
  {
    std::error_code ec;
    const auto m = shm::Mapping::map(fd.get(), huge + 4096, shm::AccessMode::read_write, ec);
    ASSERT_FALSE(ec) << ec.message();
    start = m.data();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(start) % huge, 0U);
    // The range reserved around the mapping to align it is given back. The page after the
    // file's was always part of it: the reservation is a huge page longer than the file, and the
    // part before the aligned start is shorter than that. (Counting /proc/self/maps lines
    // instead breaks under a sanitizer, whose runtime maps memory of its own meanwhile.)
    EXPECT_FALSE(is_mapped(start + huge + 4096, 4096));
    m.data()[huge] = std::byte{7};  // the whole length is the file's
    EXPECT_EQ(m.data()[huge], std::byte{7});
    EXPECT_TRUE(is_mapped(start + huge, 4096));
  }
  EXPECT_FALSE(is_mapped(start, 4096));
  EXPECT_FALSE(is_mapped(start + huge, 4096));
}

TEST(HugePages, ASmallMappingIsAPlainOne) {
  const auto fd = sized_memfd(8192);
  std::error_code ec;
  const auto m = shm::Mapping::map(fd.get(), 8192, shm::AccessMode::read_only, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(m.size(), 8192U);
  EXPECT_EQ(shm::test::smaps_kb(m.data(), "Size"), 8);  // one mapping of exactly the file
}

TEST(HugePages, ASegmentGetsAHugePageForEachWholeOneItSpansAndSmallPagesForTheRest) {
  if (const std::string why = no_huge_pages_here(); !why.empty()) GTEST_SKIP() << why;
  const std::size_t huge = shm::huge_page_size();
  // Three huge pages of elements: with the header in front, the file is three huge pages and
  // 128 bytes, so the last page of it is a small one.
  const auto record = array_record('i', sizeof(int), 3 * huge / sizeof(int));
  auto fd = shmd::create_segment_memfd(record, {});
  ASSERT_TRUE(fd.ok()) << fd.failure().message;

  struct stat st {};
  ASSERT_EQ(::fstat(fd.value().get(), &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), record.sizes.mapping_bytes);
  EXPECT_GE(static_cast<std::uint64_t>(st.st_blocks) * 512, record.sizes.mapping_bytes);  // committed, all of it
  EXPECT_EQ(::fcntl(fd.value().get(), F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

  std::error_code ec;
  const auto m = shm::Mapping::map(fd.value().get(), record.sizes.mapping_bytes, shm::AccessMode::read_write, ec);
  ASSERT_FALSE(ec) << ec.message();
  touch_every_page(m);
  EXPECT_EQ(shm::test::smaps_kb(m.data(), "ShmemPmdMapped"), static_cast<long>(3 * huge / 1024));
  EXPECT_EQ(shm::test::smaps_kb(m.data(), "Rss"), static_cast<long>(3 * huge / 1024 + 4));

  // The huge pages hold the header where it was written, and zeros everywhere else.
  const auto* header = reinterpret_cast<const shm::SegmentHeader*>(m.data());
  EXPECT_EQ(header->magic, shm::kSegmentMagic);
  EXPECT_EQ(header->length, record.length);
  for (const std::size_t at : {huge, 2 * huge, huge + 1, record.sizes.mapping_bytes - 1})
    EXPECT_EQ(m.data()[at], std::byte{0}) << "byte " << at;
}

TEST(HugePages, ASegmentSmallerThanAHugePageHasNone) {
  if (const std::string why = no_huge_pages_here(); !why.empty()) GTEST_SKIP() << why;
  const std::size_t huge = shm::huge_page_size();
  const auto record = array_record('B', 1, huge - 4096);
  auto fd = shmd::create_segment_memfd(record, {});
  ASSERT_TRUE(fd.ok()) << fd.failure().message;
  std::error_code ec;
  const auto m = shm::Mapping::map(fd.value().get(), record.sizes.mapping_bytes, shm::AccessMode::read_only, ec);
  ASSERT_FALSE(ec) << ec.message();
  touch_every_page(m);
  EXPECT_EQ(shm::test::smaps_kb(m.data(), "ShmemPmdMapped"), 0);
}

}  // namespace
