#pragma once
/// Limits: the bounds the registry enforces on every create.

#include <cstddef>
#include <cstdint>

#include "shm/names.hpp"

namespace shmd {

/// Resource limits. Every violation is refused with Errc::limit_exceeded (or invalid_argument for
/// names) and a message that names the limit.
struct Limits {
  std::uint64_t max_segment_bytes = std::uint64_t{1} << 30;  ///< data bytes in one segment (1 GiB)
  std::uint64_t max_total_bytes = std::uint64_t{8} << 30;    ///< mapping bytes of all segments (8 GiB)
  std::size_t max_segments = 1'000'000;                      ///< segments alive at once (removed ones count until freed)
  std::size_t max_name_length = shm::kMaxNameLength;         ///< characters in a name (1..255)
};

}  // namespace shmd
