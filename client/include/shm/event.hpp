#pragma once
/// Event: one change to the registry, as a Subscription delivers it.

#include <cstdint>
#include <string_view>

#include "shm/segment_info.hpp"

namespace shm {

/// What happened (proto/README.md, "Events").
enum class EventKind {
  created,       ///< a segment was created (refcount counts its creator's reference)
  removed,       ///< its name was taken away; the memory lives while referenced
  freed,         ///< its memory was released; the last event about that id
  mode_changed,  ///< its permission bits changed
  attached,      ///< its refcount went up (only with SubscribeOptions::attachments)
  detached,      ///< its refcount went down (only with SubscribeOptions::attachments)
  overflow,      ///< the daemon's queue for this subscriber was full: `missed` events were dropped
};

/// The kind's name as the protocol document and shmctl spell it: "created", "mode_changed", ...
std::string_view event_kind_name(EventKind kind) noexcept;

/// One event. Everything but `missed` is about `segment`; an overflow has no segment.
struct Event {
  EventKind kind = EventKind::created;  ///< what happened
  SegmentInfo segment;                  ///< the segment after the change; empty for an overflow
  std::uint64_t missed = 0;             ///< overflow: how many events were dropped in its place
};

}  // namespace shm
