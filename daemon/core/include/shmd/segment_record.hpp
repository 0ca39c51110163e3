#pragma once
/// SegmentRecord: the daemon's authoritative metadata for one segment, plus its memfd.

#include <cstdint>
#include <string>

#include "shm/kind.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shared_fd.hpp"
#include "shmd/credentials.hpp"

namespace shmd {

/// One segment as the registry knows it. The segment's own header is never trusted for any of this.
struct SegmentRecord {
  std::uint64_t id = 0;               ///< unique for the daemon's lifetime
  std::string name;                   ///< the name it was created with
  char typecode = '\0';               ///< element typecode
  shm::Kind kind = shm::Kind::value;  ///< Value or Array
  std::uint64_t length = 0;           ///< element count
  std::uint32_t element_size = 0;     ///< bytes per element
  shm::SegmentSizes sizes{};          ///< data and mapping bytes
  Credentials creator;                ///< who created it
  std::uint32_t mode = 0600;          ///< permission bits
  bool ephemeral = false;             ///< remove when references() reaches zero
  bool removed = false;               ///< name taken away; freed when references() reaches zero
  std::uint32_t refcount = 0;         ///< references held by connections, plus `holds`
  std::uint32_t holds = 0;            ///< references the daemon keeps for Holds (see Registry::hold)
  std::uint32_t unclaimed = 0;        ///< references from before a restart not yet reattached
  bool restored = false;              ///< came back from the fd store after a daemon restart
  /// Its fd has gone to a client (an attach, or Registry::hand_out after a create), or may have
  /// (restored): until then no process but the daemon can map it, so a remove has nobody to tell
  /// through the header.
  bool handed_out = false;
  std::int64_t created_unix_ns = 0;  ///< creation time
  shm::SharedFd memfd;               ///< the sealed memfd backing it, shared with replies that pass it

  /// The references that keep the memory: held by connections or holds, plus unclaimed ones.
  [[nodiscard]] std::uint32_t references() const noexcept { return refcount + unclaimed; }
  /// The references a restarted daemon hands back for Reattach: all but holds, which a restart ends.
  [[nodiscard]] std::uint32_t restorable_references() const noexcept { return refcount - holds + unclaimed; }
};

}  // namespace shmd
