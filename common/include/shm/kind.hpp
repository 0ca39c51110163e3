#pragma once
/// Kind: whether a segment holds one element or many. The one spelling of it on every side: the
/// public API, the daemon's records, and the segment header (the protocol and the journal number
/// it the same way, and each side's protocol file converts).

#include <cstdint>

namespace shm {

/// Whether a segment holds one element or many; the values are those of the header and the wire.
enum class Kind : std::uint8_t {
  value = 1,  ///< one element, like multiprocessing.Value
  array = 2,  ///< `length` elements, like multiprocessing.Array
};

}  // namespace shm
