#pragma once
/// Kind: whether a segment holds one element or many. The one spelling of it on every side: the
/// public API, the daemon's records, and the segment header (the protocol and the journal number
/// it the same way, and each side's protocol file converts).

#include <cstdint>
#include <string_view>

namespace shm {

/// Whether a segment holds one element or many; the values are those of the header and the wire.
enum class Kind : std::uint8_t {
  value = 1,  ///< one element, like multiprocessing.Value
  array = 2,  ///< `length` elements, like multiprocessing.Array
};

/// "value" or "array": the kind as data spells it (`shmctl info`, JSON, Python's SegmentInfo.kind).
constexpr std::string_view kind_name(Kind kind) noexcept { return kind == Kind::array ? "array" : "value"; }

/// "Value" or "Array": the kind as the API's types spell it, for messages ("'x' is an Array").
constexpr std::string_view kind_title(Kind kind) noexcept { return kind == Kind::array ? "Array" : "Value"; }

/// "a Value" or "an Array", for messages.
constexpr std::string_view kind_with_article(Kind kind) noexcept {
  return kind == Kind::array ? "an Array" : "a Value";
}

}  // namespace shm
