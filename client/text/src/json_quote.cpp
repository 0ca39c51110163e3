#include "shm/json_quote.hpp"

#include "shm/hex_digits.hpp"

namespace shm {

std::string json_quote(std::string_view utf8) {
  std::string out = "\"";
  for (const char c : utf8) {
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        // Bytes >= 0x80 pass through: names and messages are UTF-8 text.
        if (b < 0x20 || b == 0x7f) {
          out += "\\u00";
          out += kHexDigits[b >> 4U];
          out += kHexDigits[b & 15U];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace shm
