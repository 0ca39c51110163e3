#include "shm/mapping.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>

#include "shm/huge_pages.hpp"

namespace shm {
namespace {

/// Maps `fd` at an address that is a multiple of `align`, so that the file's huge pages (offset 0
/// is aligned) can be mapped whole: a range `align` longer is reserved, the file is mapped over
/// its aligned part, and the rest is given back. MAP_FAILED if any step fails.
void* map_aligned(int fd, std::size_t size, int prot, std::size_t align) noexcept {
  const std::size_t span = size + align;
  void* reserved = ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  auto* const start = static_cast<std::byte*>(reserved);
  const auto skip = (align - reinterpret_cast<std::uintptr_t>(start) % align) % align;
  std::byte* const at = start + skip;
  void* p = ::mmap(at, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::munmap(reserved, span);
    errno = err;
    return MAP_FAILED;
  }
  if (skip > 0) ::munmap(start, skip);
  if (const std::size_t tail = span - skip - size; tail > 0) ::munmap(at + size, tail);
  return p;
}

}  // namespace

Mapping Mapping::map(int fd, std::size_t size, AccessMode access, std::error_code& ec) noexcept {
  const int prot = access == AccessMode::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
  // A segment of a huge page or more may have huge pages (back_with_huge_pages): they are mapped
  // as such only at an aligned address, which a plain mmap of shared memory does not promise.
  const std::size_t huge = huge_page_size();
  void* p = huge != 0 && size >= huge ? map_aligned(fd, size, prot, huge) : MAP_FAILED;
  if (p == MAP_FAILED) p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    ec.assign(errno, std::generic_category());
    return {};
  }
  ec.clear();
  return Mapping(static_cast<std::byte*>(p), size);
}

void Mapping::reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace shm
