#pragma once
/// The pages behind this process's mappings: whether an address is mapped, what /proc/self/smaps
/// says of a mapping, and whether this kernel gives a memfd huge pages at all.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "shm/huge_pages.hpp"
#include "shm/unique_fd.hpp"

namespace shm::test {

/// True if all of [p, p + size) is mapped: msync fails (ENOMEM) on an address nothing maps.
inline bool is_mapped(const std::byte* p, std::size_t size) {
  return ::msync(const_cast<std::byte*>(p), size, MS_ASYNC) == 0;  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

/// A field of the mapping that starts at `start` in /proc/self/smaps ("ShmemPmdMapped", "Rss"),
/// in kB; -1 if there is no such mapping or field.
inline long smaps_kb(const void* start, const std::string& field) {
  std::ifstream smaps("/proc/self/smaps");
  std::ostringstream prefix;
  prefix << std::hex << reinterpret_cast<std::uintptr_t>(start) << '-';
  bool in = false;
  for (std::string line; std::getline(smaps, line);) {
    const auto dash = line.find('-');
    const auto space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space) {  // a range line
      in = line.rfind(prefix.str(), 0) == 0;
      continue;
    }
    if (in && line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

/// Why this kernel gives a memfd no huge pages, or empty if it does (tried on a scratch file).
inline std::string no_huge_pages_here() {
  const std::size_t huge = shm::huge_page_size();
  if (huge == 0) return "the kernel has no transparent huge pages";
  shm::UniqueFd fd(::memfd_create("huge-pages-probe", MFD_CLOEXEC));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(huge)) != 0) return "no memfd to try on";
  if (shm::back_with_huge_pages(fd.get(), huge) != huge)
    return "MADV_COLLAPSE gives a memfd no huge page here (Linux before 6.1, shmem_enabled = deny, or no "
           "huge page free)";
  return {};
}

}  // namespace shm::test
