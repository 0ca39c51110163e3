#pragma once
/// Turning command-line text into typecodes, modes and element bytes. Every failure is a
/// usage error (exit status 2).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shmctl {

/// The typecode named by `text` (one of c b B u h H i I l L q Q f d); throws a usage CommandError.
char parse_typecode(std::string_view text);
/// Permission bits in octal (`0640` or `640`), at most 0777; throws a usage CommandError.
std::uint32_t parse_mode(std::string_view text);
/// `text` split at every comma: `1,2,3` gives three items (an empty text gives one empty item).
std::vector<std::string> split_commas(std::string_view text);
/// The elements `texts` hold, as native bytes of `typecode`; throws a usage CommandError naming
/// the first bad one.
std::vector<std::byte> parse_elements(char typecode, const std::vector<std::string>& texts);

}  // namespace shmctl
