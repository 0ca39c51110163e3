#pragma once
/// How shmctl shows a segment's metadata: table cells, labels and the JSON object.

#include <chrono>
#include <cstdint>
#include <string>

#include "shm/segment_info.hpp"

namespace shmctl {

/// The TYPE column: the typecode for a Value (`d`), typecode and length for an Array (`i[10]`).
std::string type_label(const shm::SegmentInfo& info);
/// The STATE column: `live` or `removed`, plus `,ephemeral` for ephemeral segments.
std::string state_label(const shm::SegmentInfo& info);
/// The user name for `uid`, or the number if it has none.
std::string user_name(std::uint32_t uid);
/// The group name for `gid`, or the number if it has none.
std::string group_name(std::uint32_t gid);
/// ISO-8601 UTC with milliseconds: `2024-05-01T12:34:56.789Z`.
std::string iso8601_utc(std::chrono::system_clock::time_point t);
/// The segment as the JSON object that `list --json` and `info --json` print.
std::string segment_json(const shm::SegmentInfo& info);

}  // namespace shmctl
