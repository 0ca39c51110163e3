#pragma once
/// RegistryEvent: one change to a segment, as the registry reports it to whoever follows it.

#include <cstdint>

#include "shmd/segment_record.hpp"

namespace shmd {

/// What happened to a segment (the wire's EventKind, without the overflow the queues add).
enum class EventKind {
  created,       ///< a new segment, with its creator's reference
  removed,       ///< its name was taken away
  freed,         ///< its memory was released; the last event about it
  mode_changed,  ///< its permission bits changed
  attached,      ///< its refcount went up
  detached,      ///< its refcount went down
};

/// One change. `segment` is the segment after it and is valid only during the call that reports it.
struct RegistryEvent {
  EventKind kind;                ///< what happened
  const SegmentRecord& segment;  ///< the segment as it is now
  std::uint32_t previous_mode;   ///< the mode before a mode_changed; segment.mode otherwise
};

}  // namespace shmd
