#pragma once
/// What /proc/self/smaps says about this process's mappings.

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace shm::test {

/// A field of the mapping that starts at `start` in /proc/self/smaps ("ShmemPmdMapped", "Rss"),
/// in kB; -1 if there is no such mapping or field.
inline long smaps_kb(const void* start, const std::string& field) {
  std::ifstream smaps("/proc/self/smaps");
  std::ostringstream prefix;
  prefix << std::hex << reinterpret_cast<std::uintptr_t>(start) << '-';
  bool in = false;
  for (std::string line; std::getline(smaps, line);) {
    const auto dash = line.find('-');
    const auto space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space) {  // a range line
      in = line.rfind(prefix.str(), 0) == 0;
      continue;
    }
    if (in && line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace shm::test
