#pragma once
/// Python-style text for segment elements, and parsing text into elements.
/// Output matches what Python prints: `2.678`, `81`, `[0, 1, 4]`, `b'x'`.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "shm/typecode.hpp"

namespace shm {

/// Formats one element of typecode `typecode` (its bytes in `element`) as Python's repr() would.
std::string format_element(char typecode, std::span<const std::byte> element);
/// Formats `data` (whole elements of `typecode`) as a Python list: `[0, 1, 4]`.
std::string format_list(char typecode, std::span<const std::byte> data);
/// Formats one element as JSON: a number, or a one-character string for 'c'.
std::string format_json_element(char typecode, std::span<const std::byte> element);
/// Formats `data` as a JSON array.
std::string format_json_list(char typecode, std::span<const std::byte> data);

/// Parses `text` as one element of `typecode` into `out` (exactly one element's bytes).
/// Rejects junk, and values out of the type's range, with Errc::invalid_argument;
/// last_error_message() says why.
void parse_element(char typecode, std::string_view text, std::span<std::byte> out, std::error_code& ec);

/// Formats a typed value as Python would print it.
template <Element T>
std::string to_python(const T& v) {
  return format_element(typecode_of<T>, std::as_bytes(std::span<const T>(&v, 1)));
}
/// Formats typed elements as a Python list.
template <Element T>
std::string to_python(std::span<const T> v) {
  return format_list(typecode_of<T>, std::as_bytes(v));
}

}  // namespace shm
