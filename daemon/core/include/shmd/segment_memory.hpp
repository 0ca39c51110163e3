#pragma once
/// Creating the sealed memfd behind a segment.

#include <cstdint>
#include <string_view>

#include "shm/result.hpp"
#include "shm/unique_fd.hpp"
#include "shmd/segment_record.hpp"

namespace shmd {

/// Makes a memfd's inode 0600 (owned by the daemon). memfds start out 0777, which would let any
/// holder of a read-only fd reopen it read-write through /proc/self/fd/N.
shm::Result<void> restrict_memfd_mode(int fd);

/// Creates a memfd of `record.sizes.mapping_bytes` with all of its memory allocated (committed:
/// LIMIT_EXCEEDED if it cannot be), writes the header (magic, sizes, robust recursive mutex) and
/// `initial` (empty = zeroed), then seals it against shrink, grow and further sealing, so no
/// client can truncate it under the others.
shm::Result<shm::UniqueFd> create_segment_memfd(const SegmentRecord& record, std::string_view initial,
                                                bool huge_pages = true);

/// Tells the segment's waiters it was removed: sets the header's kSegmentRemoved flag, moves the
/// change count and FUTEX_WAKEs them all (shm::change_word::mark_removed), through a mapping of
/// the header made and dropped here. The only time the daemon maps a segment besides watch_segment().
shm::Result<void> mark_segment_removed(int fd);

/// Sets bit 0 of the segment's change word for a waiter that cannot (a read-only attachment);
/// returns the word as it is afterwards.
shm::Result<std::uint32_t> watch_segment(int fd);

/// Brings the header of a segment restored from the fd store, written with layout `from` (2 or 3:
/// shm::upgradable_layout; the change word and the flags were nowhere, or at 112), to
/// shm::kLayoutVersion in place: checks the magic and that the header says `from`, writes a zero
/// change word, the removed flag if `removed`, and then the new version. Clients of the old layout
/// that still map it never touch those bytes, so nothing they do is disturbed.
shm::Result<void> upgrade_segment_header(int fd, std::uint32_t from, bool removed);

}  // namespace shmd
