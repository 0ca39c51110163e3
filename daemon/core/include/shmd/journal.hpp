#pragma once
/// Journal: the daemon-private, append-only metadata log that lives in a memfd in systemd's fd
/// store, so a restarted daemon knows each stored segment's name, owner, mode and shape.

#include <cstdint>
#include <map>

#include "shm/result.hpp"
#include "shm/unique_fd.hpp"
#include "shmd_journal.pb.h"

namespace shmd {

/// The state a journal describes: segment id -> metadata (removed ones flagged, freed ones gone).
using JournalState = std::map<std::uint64_t, shmd::journal::v1::SegmentMeta>;

/// An open journal memfd that records are appended to.
class Journal {
 public:
  /// A new journal memfd whose header says `generation`.
  static shm::Result<Journal> create(std::uint64_t generation);
  /// Replays the journal in `fd`; stops quietly at a torn tail (the daemon died mid-append).
  static shm::Result<JournalState> replay(int fd, std::uint64_t& generation);

  /// Appends one record; a failed write leaves the journal untrustworthy.
  shm::Result<void> append(const shmd::journal::v1::JournalRecord& record);
  /// The memfd, to be handed to the fd store.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// This journal's generation (bumped by every compaction).
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }
  /// Records appended, header included.
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }

 private:
  Journal(shm::UniqueFd fd, std::uint64_t generation) : fd_(std::move(fd)), generation_(generation) {}
  shm::UniqueFd fd_;           ///< the memfd
  std::uint64_t generation_;   ///< header value
  std::uint64_t offset_ = 0;   ///< end of the last complete record
  std::uint64_t records_ = 0;  ///< records written
};

}  // namespace shmd
