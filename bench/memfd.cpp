#include "memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "shm/huge_pages.hpp"
#include "shm/segment_layout.hpp"

namespace shm::bench {

UniqueFd make_memfd(std::size_t size) {
  UniqueFd fd(::memfd_create("shmd-bench", MFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  // The huge pages shmd gives a segment this large: a raw memfd can have them the same way.
  (void)back_with_huge_pages(fd.get(), size);
  return fd;
}

UniqueFd make_value_memfd() {
  std::array<char, sizeof(SegmentHeader)> page{};  // a one-element Value's whole file: its header
  UniqueFd fd(::memfd_create("shmd:bench.memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  iovec iov{page.data(), page.size()};
  if (!fd || ::fchmod(fd.get(), 0600) != 0 || ::pwritev(fd.get(), &iov, 1, 0) != static_cast<ssize_t>(page.size()) ||
      ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    throw std::system_error(errno, std::generic_category(), "memfd calls");
  return fd;
}

std::size_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return static_cast<std::size_t>(st.st_size);
}

}  // namespace shm::bench
