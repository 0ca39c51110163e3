#pragma once
/// Rules for segment names.

#include <cstddef>
#include <string>
#include <string_view>

#include "shm/result.hpp"

namespace shm {

/// The longest name the protocol allows (a daemon may be configured lower).
inline constexpr std::size_t kMaxNameLength = 255;

/// Success if `name` is a valid segment name (1..max_length characters of `[A-Za-z0-9._-]`),
/// otherwise invalid_argument with a message saying what is wrong with it.
Result<void> check_segment_name(std::string_view name, std::size_t max_length = kMaxNameLength);

}  // namespace shm
