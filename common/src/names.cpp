#include "shm/names.hpp"

#include "shm/hex_digits.hpp"

namespace shm {

Result<void> check_segment_name(std::string_view name, std::size_t max_length) {
  if (name.empty()) return fail(Errc::invalid_argument, "segment name is empty");
  if (name.size() > max_length)
    return fail(Errc::invalid_argument, "segment name is " + std::to_string(name.size()) +
                                            " characters long; the limit is " + std::to_string(max_length));
  for (const char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      const auto byte = static_cast<unsigned>(static_cast<unsigned char>(c));
      return fail(Errc::invalid_argument, std::string("segment name contains byte 0x") + kHexDigits[byte >> 4] +
                                              kHexDigits[byte & 15] + "; only A-Z a-z 0-9 . _ - are allowed");
    }
  }
  return {};
}

}  // namespace shm
