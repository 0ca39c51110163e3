#pragma once
/// The lower-case hex digits, as Python's repr(), json.dumps() and shmd's messages write them.

#include <string_view>

namespace shm {

/// "0123456789abcdef": digit `d` is kHexDigits[d].
inline constexpr std::string_view kHexDigits = "0123456789abcdef";

}  // namespace shm
