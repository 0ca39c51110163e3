#include "shm/huge_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "shm/access_mode.hpp"
#include "shm/mapping.hpp"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; older kernels answer EINVAL
#endif

namespace shm {

std::size_t huge_page_size() noexcept {
  static const std::size_t size = [] {
    std::size_t bytes = 0;
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    // Only a power of two above the page size is a size to align to.
    if (!(in >> bytes) || bytes <= static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) || (bytes & (bytes - 1)) != 0)
      return std::size_t{0};
    return bytes;
  }();
  return size;
}

std::size_t back_with_huge_pages(int fd, std::size_t size) noexcept {
  const std::size_t huge = huge_page_size();
  const std::size_t whole = huge == 0 ? 0 : size / huge * huge;
  if (whole == 0) return 0;
  // MADV_COLLAPSE builds a huge page from the small ones present (here one each) and zero-fills
  // the rest: far cheaper than collapsing pages fallocate() allocated, each copied once more.
  const char zero = 0;
  for (std::size_t at = 0; at < whole; at += huge) {
    ssize_t n;
    do n = ::pwrite(fd, &zero, 1, static_cast<off_t>(at));
    while (n < 0 && errno == EINTR);
    if (n != 1) return 0;
  }
  std::error_code ec;
  // Mapping::map puts a mapping this large at a huge-page-aligned address, as the kernel needs.
  const Mapping mapping = Mapping::map(fd, whole, AccessMode::read_write, ec);
  if (ec) return 0;
  return ::madvise(mapping.data(), whole, MADV_COLLAPSE) == 0 ? whole : 0;
}

}  // namespace shm
