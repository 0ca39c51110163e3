#pragma once
/// Permission bits as every program here prints them: octal, at least four digits ("0640").

#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace shm {

/// `mode` in octal, zero-padded to four digits: "0640"; all 32 bits set read "37777777777".
inline std::string octal_mode(std::uint32_t mode) {
  std::array<char, 11> buf{};  // the 11 octal digits of a 32-bit value
  char* end = std::to_chars(buf.data(), buf.data() + buf.size(), mode, 8).ptr;
  std::string digits(buf.data(), end);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return digits;
}

}  // namespace shm
