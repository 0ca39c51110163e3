#pragma once
/// AccessMode: how a segment is attached and mapped. The one spelling of it for the public API,
/// the daemon's permission checks, and Mapping.

#include <cstdint>

namespace shm {

/// How a segment is attached.
enum class AccessMode : std::uint8_t {
  read_write,  ///< needs the r and w bits; maps PROT_READ|PROT_WRITE
  read_only,   ///< needs only the r bit; the fd is O_RDONLY and the mapping PROT_READ
};

/// The permission bits (of one rwx triple) that `mode` needs: r, or r and w.
constexpr std::uint32_t required_permission_bits(AccessMode mode) noexcept {
  return mode == AccessMode::read_only ? 04U : 06U;
}

}  // namespace shm
