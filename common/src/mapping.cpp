#include "shm/mapping.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace shm {

Mapping Mapping::map(int fd, std::size_t size, AccessMode access, std::error_code& ec) noexcept {
  const int prot = access == AccessMode::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
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
