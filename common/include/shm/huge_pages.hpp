#pragma once
/// Transparent huge pages for shared memory: the size they come in, and how a segment's memfd
/// gets them where the kernel's shmem policy (`shmem_enabled`) would give it none.

#include <cstddef>

namespace shm {

/// The size of the huge pages a mapping of shared memory can use (the PMD size, 2 MiB on x86-64),
/// from /sys/kernel/mm/transparent_hugepage/hpage_pmd_size, read once; 0 where the kernel has no
/// transparent huge pages.
[[nodiscard]] std::size_t huge_page_size() noexcept;

/// Backs every whole, aligned huge page of the first `size` bytes of the memfd `fd` (a file of at
/// least that size) with a huge page, best effort, and returns how many bytes it so backed (0
/// if none: the kernel is older than 6.1, refuses, or has no huge page free). It allocates the
/// first page of each huge page (fallocate), since MADV_COLLAPSE needs a page present to build
/// from, and the collapse zero-fills the rest; the file's contents do not change. What it backs
/// is allocated and counted as the file's memory, like fallocate's.
std::size_t back_with_huge_pages(int fd, std::size_t size) noexcept;

}  // namespace shm
