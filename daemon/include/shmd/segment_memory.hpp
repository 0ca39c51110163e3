#pragma once
/// Creating the sealed memfd behind a segment.

#include <cstdint>
#include <string_view>

#include "shm/unique_fd.hpp"
#include "shmd/result.hpp"
#include "shmd/segment_record.hpp"

namespace shmd {

/// Creates a memfd of `record.sizes.mapping_bytes`, writes the header (magic, sizes, robust
/// recursive mutex) and `initial` (empty = zeroed), then seals it against shrink, grow and
/// further sealing, so no client can truncate it under the others.
Result<shm::UniqueFd> create_segment_memfd(const SegmentRecord& record, std::string_view initial);

}  // namespace shmd
