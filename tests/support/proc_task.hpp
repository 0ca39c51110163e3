#pragma once
/// What /proc says about a process or thread: its scheduler state and its status counters.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace shm::test {

/// The scheduler state letter in a /proc/.../stat file ('R' running, 'S' asleep, ...), or '?'.
inline char scheduler_state(const std::string& stat_path) {
  std::ifstream in(stat_path);
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

/// A numeric field of a /proc/.../status file, e.g. "voluntary_ctxt_switches" (how often the
/// task has blocked); fails the test and returns -1 if it is missing.
inline long status_field(const std::string& status_path, std::string_view field) {
  std::ifstream in(status_path);
  for (std::string line; std::getline(in, line);)
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':')
      return std::stol(line.substr(field.size() + 1));
  ADD_FAILURE() << "no " << field << " in " << status_path;
  return -1;
}

}  // namespace shm::test
