#include "shmd/segment_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "shm/mapping.hpp"
#include "shm/robust_mutex.hpp"

namespace shmd {
namespace {

Failure system_failure(const char* what, int err) {
  return fail(shm::Errc::internal, std::string(what) + ": " + std::strerror(err));
}

}  // namespace

Result<bool> restrict_memfd_mode(int fd) {
  if (::fchmod(fd, 0600) != 0) return system_failure("fchmod(memfd)", errno);
  return true;
}

Result<shm::UniqueFd> create_segment_memfd(const SegmentRecord& record, std::string_view initial) {
  // The memfd name only shows in /proc/PID/fd links; the kernel caps it at 249 bytes.
  const std::string memfd_name = ("shmd:" + record.name).substr(0, 249);
  shm::UniqueFd fd(::memfd_create(memfd_name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return system_failure("memfd_create", errno);
  if (auto locked = restrict_memfd_mode(fd.get()); !locked.ok()) return locked.failure();
  if (::ftruncate(fd.get(), static_cast<off_t>(record.sizes.mapping_bytes)) != 0) {
    const int err = errno;
    if (err == ENOMEM || err == ENOSPC || err == EFBIG)
      return fail(shm::Errc::limit_exceeded, "the system cannot provide " +
                                                 std::to_string(record.sizes.mapping_bytes) + " bytes");
    return system_failure("ftruncate", err);
  }

  {
    std::error_code ec;
    // Only the header page and the initial data are touched; the rest stays unallocated.
    shm::Mapping map = shm::Mapping::map(fd.get(), static_cast<std::size_t>(record.sizes.mapping_bytes),
                                         shm::Mapping::Access::read_write, ec);
    if (ec) return system_failure("mmap", ec.value());
    auto* header = new (map.data()) shm::SegmentHeader{};
    header->magic = shm::kSegmentMagic;
    header->layout_version = shm::kLayoutVersion;
    header->typecode = record.typecode;
    header->kind = static_cast<std::uint8_t>(record.kind);
    header->element_size = record.element_size;
    header->length = record.length;
    header->data_offset = shm::kDataOffset;
    if (auto err = shm::init_robust_mutex(header->mutex))
      return fail(shm::Errc::internal, "pthread_mutex_init: " + err.message());
    if (!initial.empty()) std::memcpy(map.data() + shm::kDataOffset, initial.data(), initial.size());
  }

  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return system_failure("fcntl(F_ADD_SEALS)", errno);
  return fd;
}

}  // namespace shmd
