#include "json_object.hpp"

#include "shm/hex_digits.hpp"

namespace shmctl {

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
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
          out += shm::kHexDigits[b >> 4U];
          out += shm::kHexDigits[b & 15U];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

JsonObject& JsonObject::string(std::string_view key, std::string_view value) { return raw(key, json_quote(value)); }

JsonObject& JsonObject::boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }

JsonObject& JsonObject::raw(std::string_view key, std::string_view json) {
  if (!members_.empty()) members_ += ", ";
  members_ += json_quote(key);
  members_ += ": ";
  members_ += json;
  return *this;
}

std::string JsonObject::str() const { return "{" + members_ + "}"; }

}  // namespace shmctl
