#include "shm/huge_pages.hpp"

#include <fcntl.h>
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
  // MADV_COLLAPSE builds a huge page from the small ones present (here, on a fresh file, the one
  // allocated at its start) and zero-fills the rest: far cheaper than collapsing a file whose
  // every page fallocate() allocated, each copied once more. Allocating a page changes no byte
  // of a file that has data already.
  for (std::size_t at = 0; at < whole; at += huge) {
    int rc;
    do rc = ::fallocate(fd, 0, static_cast<off_t>(at), 1);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) return 0;
  }
  std::error_code ec;
  // Mapping::map puts a mapping this large at a huge-page-aligned address, as the kernel needs.
  const Mapping mapping = Mapping::map(fd, whole, AccessMode::read_write, ec);
  if (ec) return 0;
  return ::madvise(mapping.data(), whole, MADV_COLLAPSE) == 0 ? whole : 0;
}

}  // namespace shm
