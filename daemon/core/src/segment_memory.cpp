#include "shmd/segment_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "shm/change_word.hpp"
#include "shm/huge_pages.hpp"
#include "shm/mapping.hpp"
#include "shm/robust_mutex.hpp"

namespace shmd {
namespace {

shm::Failure system_failure(const char* what, int err) {
  return shm::fail(shm::Errc::internal, std::string(what) + ": " + std::strerror(err));
}

// Writes `header` at offset 0 and `trailing` right after it, in one pwritev unless it comes up short.
shm::Result<void> write_prefix(int fd, const shm::SegmentHeader& header, std::string_view trailing) {
  auto* head = reinterpret_cast<const char*>(&header);
  const std::size_t total = sizeof header + trailing.size();
  for (std::size_t done = 0; done < total;) {
    std::array<iovec, 2> iov{};
    std::size_t parts = 0;
    if (done < sizeof header) iov[parts++] = {const_cast<char*>(head + done), sizeof header - done};
    if (const std::size_t from = done > sizeof header ? done - sizeof header : 0; from < trailing.size())
      iov[parts++] = {const_cast<char*>(trailing.data() + from), trailing.size() - from};
    const ssize_t n = ::pwritev(fd, iov.data(), static_cast<int>(parts), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && shm::errc_from_errno(errno) == shm::Errc::limit_exceeded)
      return shm::fail(shm::Errc::limit_exceeded, "the system has no memory for the segment");
    if (n <= 0) return system_failure("pwritev(memfd)", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

/// Segments up to this size are written whole instead of fallocate()d first: one system call less.
constexpr std::size_t kWholeWriteLimit = 4096;
/// The data of a small segment created without initial data.
constexpr std::array<char, kWholeWriteLimit - sizeof(shm::SegmentHeader)> kZeros{};

/// The header of `fd`, mapped read-write for one operation.
shm::Result<shm::Mapping> map_header(int fd) {
  std::error_code ec;
  shm::Mapping mapping = shm::Mapping::map(fd, sizeof(shm::SegmentHeader), shm::AccessMode::read_write, ec);
  if (ec) return shm::fail(shm::Errc::internal, "mmap(segment header): " + ec.message());
  return mapping;
}

shm::SegmentHeader& header_of(const shm::Mapping& mapping) {
  return *reinterpret_cast<shm::SegmentHeader*>(mapping.data());
}

}  // namespace

shm::Result<void> mark_segment_removed(int fd) {
  auto mapping = map_header(fd);
  if (!mapping) return mapping.failure();
  shm::change_word::mark_removed(header_of(mapping.value()));
  return {};
}

shm::Result<std::uint32_t> watch_segment(int fd) {
  auto mapping = map_header(fd);
  if (!mapping) return mapping.failure();
  auto word = std::atomic_ref<std::uint32_t>(header_of(mapping.value()).changes);
  return word.fetch_or(shm::change_word::kWatched, std::memory_order_seq_cst) | shm::change_word::kWatched;
}

shm::Result<void> upgrade_segment_header(int fd, std::uint32_t from, bool removed) {
  if (!shm::upgradable_layout(from))
    return shm::fail(shm::Errc::internal, "layout " + std::to_string(from) + " is not one to upgrade");
  auto mapping = map_header(fd);
  if (!mapping) return mapping.failure();
  shm::SegmentHeader& h = header_of(mapping.value());
  auto version = std::atomic_ref<std::uint32_t>(h.layout_version);
  const std::uint32_t found = version.load(std::memory_order_relaxed);
  if (h.magic != shm::kSegmentMagic || found != from)
    return shm::fail(
        shm::Errc::corrupt_segment,
        "its header has " +
            std::string(h.magic != shm::kSegmentMagic ? "a bad magic" : "layout " + std::to_string(found)) +
            ", not layout " + std::to_string(from) + " as the journal says");
  // Layouts 2 and 3 left these bytes zero; a client of those layouts may have scribbled on them
  // (the header is writable), so they are set, not trusted. The count starts again at 0: nobody
  // of layout 4 holds one yet. Layout 3's own words at 112 are left as they are, so processes of
  // that layout still mapping the segment go on hearing each other (not those of layout 4).
  std::atomic_ref<std::uint32_t>(h.changes).store(0, std::memory_order_relaxed);
  std::atomic_ref<std::uint32_t>(h.flags).store(removed ? shm::kSegmentRemoved : 0, std::memory_order_relaxed);
  version.store(shm::kLayoutVersion, std::memory_order_seq_cst);
  return {};
}

shm::Result<void> restrict_memfd_mode(int fd) {
  if (::fchmod(fd, 0600) != 0) return system_failure("fchmod(memfd)", errno);
  return {};
}

shm::Result<shm::UniqueFd> create_segment_memfd(const SegmentRecord& record, std::string_view initial,
                                                bool huge_pages) {
  // The memfd name only shows in /proc/PID/fd links; the kernel caps it at 249 bytes.
  const std::string memfd_name = ("shmd:" + record.name).substr(0, 249);
  shm::UniqueFd fd(::memfd_create(memfd_name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return system_failure("memfd_create", errno);
  if (auto locked = restrict_memfd_mode(fd.get()); !locked) return locked.failure();
  // The header is built here and written with the initial data in one pwritev: no mapping, no
  // page fault in the daemon. Copying the freshly initialised mutex is sound because a
  // process-shared mutex holds no addresses (every process maps it elsewhere anyway) and nobody
  // can lock it before the fd is handed out.
  shm::SegmentHeader header{};
  header.magic = shm::kSegmentMagic;
  header.layout_version = shm::kLayoutVersion;
  header.typecode = record.typecode;
  header.kind = record.kind;
  header.element_size = record.element_size;
  header.length = record.length;
  header.data_offset = record.sizes.data_offset;
  if (auto err = shm::init_robust_mutex(header.mutex))
    return shm::fail(shm::Errc::internal, "pthread_mutex_init: " + err.message());
  std::string_view trailing = initial;  // what follows the header: an Array's elements
  if (record.kind == shm::Kind::value) {
    if (initial.size() > sizeof header.value)
      return shm::fail(shm::Errc::internal, "a Value's initial data does not fit");
    if (!initial.empty()) std::memcpy(header.value, initial.data(), initial.size());  // data() may be null
    trailing = {};
  }
  // A segment of one page or less is written whole (header and elements, zeros if no initial
  // data), and that write sizes the file and allocates its page. A bigger one is sized and
  // allocated at once by fallocate, before its header (and initial data) is written: its memory is
  // committed here, so a create that memory cannot back fails now, not a writer at its first
  // touch. Registry::create asked MemoryHeadroom first, since past a memory cgroup's limit the
  // kernel may answer this fallocate by OOM-killing shmd rather than with an error. Any failure is
  // LIMIT_EXCEEDED; the fd, and whatever was allocated, goes when it is closed. A segment of a
  // huge page or more gets huge pages where it can (the kernel's shmem policy gives a memfd none
  // by default), so that a loop over a large Array walks one page table entry per 2 MiB, as over
  // the private memory malloc and numpy get huge pages for; a huge page that cannot be had fails
  // nothing (a memory cgroup refuses its charge rather than OOM-kill), fallocate commits small
  // pages in its place.
  const bool write_whole = record.sizes.mapping_bytes <= kWholeWriteLimit;
  if (trailing.empty() && write_whole)
    trailing = std::string_view(kZeros.data(), record.sizes.mapping_bytes - sizeof header);
  if (!write_whole) {
    if (record.sizes.mapping_bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
      return shm::fail(shm::Errc::limit_exceeded, "segment of " + std::to_string(record.sizes.mapping_bytes) +
                                                      " bytes is larger than a file can be");
    const auto bytes = static_cast<off_t>(record.sizes.mapping_bytes);
    // Huge pages first where the segment has room for one (the whole ones, best effort); the
    // file must have its size for that. fallocate then commits what they do not cover.
    if (const std::size_t huge = shm::huge_page_size();
        huge_pages && huge != 0 && record.sizes.mapping_bytes >= huge && ::ftruncate(fd.get(), bytes) == 0)
      (void)shm::back_with_huge_pages(fd.get(), record.sizes.mapping_bytes);
    if (::fallocate(fd.get(), 0, 0, bytes) != 0) {
      const int err = errno;
      return shm::fail(shm::Errc::limit_exceeded,
                       "segment of " + std::to_string(record.sizes.mapping_bytes) +
                           " bytes cannot be committed to memory: fallocate: " + std::strerror(err));
    }
  }
  if (auto written = write_prefix(fd.get(), header, trailing); !written) return written.failure();

  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return system_failure("fcntl(F_ADD_SEALS)", errno);
  return fd;
}

}  // namespace shmd
