#pragma once
/// Limits: the bounds the registry enforces on every create.

#include <cstddef>
#include <cstdint>

#include "shm/names.hpp"

namespace shmd {

/// Resource limits. Every violation is refused with Errc::limit_exceeded (or invalid_argument for
/// names) and a message that names the limit. Per-uid quotas are charged to a segment's creator
/// and apply to every uid but root.
struct Limits {
  std::uint64_t max_segment_bytes = std::uint64_t{1} << 30;  ///< data bytes in one segment (1 GiB)
  std::uint64_t max_total_bytes = std::uint64_t{8} << 30;    ///< mapping bytes of all segments (8 GiB)
  std::size_t max_segments = 1'000'000;               ///< segments alive at once (removed ones count until freed)
  std::size_t max_name_length = shm::kMaxNameLength;  ///< characters in a name (1..255)
  std::uint64_t max_bytes_per_uid = std::uint64_t{4} << 30;  ///< mapping bytes one non-root uid may hold (4 GiB)
  std::size_t max_segments_per_uid = 65536;                  ///< segments one non-root uid may hold
  std::size_t max_connections = 8192;                        ///< client connections at once
  std::size_t max_connections_per_uid = 2048;                ///< connections one non-root uid may hold
  /// Outstanding Holds one uid may have, root included: each pins a segment for up to
  /// kMaxHoldLifetime (600 s) with no connection to account it to.
  std::size_t max_holds_per_uid = 4096;
  /// Event streams (Subscribe) at once, and per non-root uid. Each may keep
  /// --max-subscriber-events frames waiting for a subscriber that does not read, so these bound
  /// what slow subscribers cost the daemon together (256 × 1024 × about 400 bytes: about 100 MiB
  /// at the defaults, plus a socket buffer each), where the connection caps alone would allow
  /// 8192 of them.
  std::size_t max_subscribers = 256;
  std::size_t max_subscribers_per_uid = 32;
};

}  // namespace shmd
