#include "memfd.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace shm::bench {

UniqueFd make_memfd(std::size_t size) {
  UniqueFd fd(::memfd_create("shmd-bench", MFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  return fd;
}

std::size_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return static_cast<std::size_t>(st.st_size);
}

}  // namespace shm::bench
