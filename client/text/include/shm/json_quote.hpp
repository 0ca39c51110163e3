#pragma once
/// json_quote(): the one JSON string escaper, for element text (shm/format.hpp) and shmctl's
/// JSON objects.

#include <string>
#include <string_view>

namespace shm {

/// `utf8` as a JSON string literal, quotes included: `"` and `\` escaped, the C0 controls and
/// DEL as \b \f \n \r \t or \u00XX; bytes from 0x80 pass through, since the text is UTF-8.
std::string json_quote(std::string_view utf8);

}  // namespace shm
