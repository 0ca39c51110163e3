#pragma once
/// The version of the wire protocol (proto/shmd.proto) that Hello names on both sides.

#include <cstdint>

namespace shm::wire {

/// The protocol version this build speaks; a daemon refuses a Hello that names another.
inline constexpr std::uint32_t kProtocolVersion = 1;

}  // namespace shm::wire
