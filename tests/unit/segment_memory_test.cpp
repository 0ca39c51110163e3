// create_segment_memfd: every segment's memory is allocated (committed) when it is created,
// whatever its size, and a size no file can have is refused before any system call. (A size that
// only memory cannot back is MemoryHeadroom's to refuse: a memfd has no size limit of its own, and
// the kernel would try to allocate it page by page.)

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "shm/segment_layout.hpp"
#include "shmd/segment_memory.hpp"

namespace {

shmd::SegmentRecord int_array_record(std::uint64_t length) {
  shmd::SegmentRecord record;
  record.name = "commit";
  record.typecode = 'i';
  record.kind = shm::Kind::array;
  record.length = length;
  record.element_size = sizeof(int);
  record.sizes = *shm::segment_sizes(sizeof(int), length, shm::Kind::array);
  return record;
}

// The bytes the kernel has allocated to the file: st_blocks counts 512-byte units.
std::uint64_t allocated_bytes(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

TEST(SegmentMemory, EverySizeIsAllocatedWholeAtCreate) {
  // One element, a page exactly, just past a page (the first fallocate()d size), 8 MiB + 4 bytes.
  for (const std::uint64_t length : {std::uint64_t{1}, std::uint64_t{(4096 - 128) / 4},
                                     std::uint64_t{(4096 - 128) / 4 + 1}, std::uint64_t{(8u << 20) / 4 + 1}}) {
    const auto record = int_array_record(length);
    auto fd = shmd::create_segment_memfd(record, {});
    ASSERT_TRUE(fd.ok()) << fd.failure().message;
    struct stat st {};
    ASSERT_EQ(::fstat(fd.value().get(), &st), 0);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), record.sizes.mapping_bytes);
    EXPECT_GE(allocated_bytes(fd.value().get()), record.sizes.mapping_bytes) << "length " << length;
    EXPECT_EQ(::fcntl(fd.value().get(), F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  }
}

TEST(SegmentMemory, AValueIsAllocatedWholeAtCreate) {
  shmd::SegmentRecord record;
  record.name = "value";
  record.typecode = 'd';
  record.kind = shm::Kind::value;
  record.length = 1;
  record.element_size = sizeof(double);
  record.sizes = *shm::segment_sizes(sizeof(double), 1, shm::Kind::value);
  auto fd = shmd::create_segment_memfd(record, {});
  ASSERT_TRUE(fd.ok()) << fd.failure().message;
  EXPECT_GE(allocated_bytes(fd.value().get()), record.sizes.mapping_bytes);
}

TEST(SegmentMemory, ASizeNoFileCanHaveIsLimitExceeded) {
  auto record = int_array_record(1);
  record.sizes.mapping_bytes = std::uint64_t{1} << 63;  // past off_t
  record.sizes.data_bytes = record.sizes.mapping_bytes - record.sizes.data_offset;
  auto fd = shmd::create_segment_memfd(record, {});
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.failure().code, shm::Errc::limit_exceeded);
  EXPECT_NE(fd.failure().message.find("9223372036854775808 bytes"), std::string::npos) << fd.failure().message;
}

}  // namespace
