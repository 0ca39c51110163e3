#include "argument_parsing.hpp"

#include "command_error.hpp"
#include "shm/format.hpp"
#include "shm/shm.hpp"

namespace shmctl {

char parse_typecode(std::string_view text) {
  if (text.size() == 1 && shm::type_info(text.front())) return text.front();
  std::string known;
  for (const auto& t : shm::kTypeCodes) {
    if (!known.empty()) known += ' ';
    known += t.code;
  }
  throw CommandError::usage("bad --type '" + std::string(text) + "': expected one of " + known);
}

std::uint32_t parse_mode(std::string_view text) {
  std::uint32_t mode = 0;
  bool ok = !text.empty() && text.size() <= 8;
  for (const char c : text) {
    if (c < '0' || c > '7') ok = false;
    if (ok) mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (!ok || mode > 0777)
    throw CommandError::usage("bad --mode '" + std::string(text) + "': expected octal permission bits such as 0640");
  return mode;
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> items;
  for (;;) {
    const auto comma = text.find(',');
    items.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return items;
    text.remove_prefix(comma + 1);
  }
}

std::vector<std::byte> parse_elements(char typecode, const std::vector<std::string>& texts) {
  const auto info = shm::type_info(typecode);
  if (!info) throw CommandError(ExitCode::failed, "segment has unknown typecode '" + std::string(1, typecode) + "'");
  const std::size_t size = info->size;
  std::vector<std::byte> bytes(size * texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::error_code ec;
    shm::parse_element(typecode, texts[i], std::span(bytes).subspan(i * size, size), ec);
    if (ec) throw CommandError::usage(shm::last_error_message());
  }
  return bytes;
}

}  // namespace shmctl
