#pragma once
/// HoldStart: when the lifetime of a hold (a reference kept for a receiver) starts counting.

#include <cstdint>

namespace shm {

/// When a hold's lifetime starts (HoldRequest.from_close in the protocol).
enum class HoldStart : std::uint8_t {
  now,       ///< at the hold request
  at_close,  ///< when the connection that made it closes: it cannot expire while that connection lives
};

}  // namespace shm
