#pragma once
/// SegmentInfo: what the daemon says about one segment.

#include <chrono>
#include <cstdint>
#include <string>

#include "shm/access_mode.hpp"
#include "shm/kind.hpp"

namespace shm {

/// A snapshot of one segment's metadata, as the daemon reported it.
struct SegmentInfo {
  std::uint64_t id = 0;             ///< unique for the daemon's lifetime
  std::string name;                 ///< the segment's name
  char typecode = '\0';             ///< one of c b B u h H i I l L q Q f d
  Kind kind = Kind::value;          ///< Value or Array
  std::uint64_t length = 0;         ///< number of elements (1 for a Value)
  std::uint32_t element_size = 0;   ///< bytes per element
  std::uint64_t data_offset = 0;    ///< offset of element 0 in the mapping
  std::uint64_t size_bytes = 0;     ///< length * element_size
  std::uint64_t mapping_bytes = 0;  ///< the whole memfd: header plus data
  std::uint32_t refcount = 0;       ///< live references held by connections, plus `holds`
  std::uint32_t holds = 0;          ///< references shmd keeps for Client::hold() until claimed or expired
  std::uint32_t uid = 0;            ///< creator's user id
  std::uint32_t gid = 0;            ///< creator's group id
  std::int32_t creator_pid = 0;     ///< creator's process id
  std::uint32_t mode = 0600;        ///< permission bits
  bool ephemeral = false;           ///< removed automatically when refcount drops to zero
  bool removed = false;             ///< name already gone; memory lives until the last detach
  std::chrono::system_clock::time_point created{};  ///< creation time
};

/// Options for creating a segment.
struct CreateOptions {
  std::uint32_t mode = 0600;   ///< permission bits (owner/group/other, like SysV IPC)
  bool ephemeral = false;      ///< remove the segment when its last reference goes
  bool open_existing = false;  ///< attach instead if a segment of that name, type and length exists
};

}  // namespace shm
