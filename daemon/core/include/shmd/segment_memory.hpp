#pragma once
/// Creating the sealed memfd behind a segment.

#include <cstdint>
#include <string_view>

#include "shm/unique_fd.hpp"
#include "shm/result.hpp"
#include "shmd/segment_record.hpp"

namespace shmd {

/// Makes a memfd's inode 0600 (owned by the daemon). memfds start out 0777, which would let any
/// holder of a read-only fd reopen it read-write through /proc/self/fd/N.
shm::Result<void> restrict_memfd_mode(int fd);

/// Creates a memfd of `record.sizes.mapping_bytes` with all of its memory allocated (committed:
/// LIMIT_EXCEEDED if it cannot be), writes the header (magic, sizes, robust recursive mutex) and
/// `initial` (empty = zeroed), then seals it against shrink, grow and further sealing, so no
/// client can truncate it under the others.
shm::Result<shm::UniqueFd> create_segment_memfd(const SegmentRecord& record, std::string_view initial);

}  // namespace shmd
