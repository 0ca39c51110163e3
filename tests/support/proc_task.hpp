#pragma once
/// What the kernel says about a process or thread: its scheduler state and status counters (from
/// /proc), and its CPU time.

#include <pthread.h>
#include <time.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

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

/// The system call a task is blocked in and its first three arguments (/proc/.../syscall).
struct BlockedSyscall {
  long number = -1;                     ///< -1 while the task is running, not in a system call
  std::array<unsigned long, 3> args{};  ///< the first three arguments, where number is not -1
};

/// What /proc/.../syscall says of a task, or nothing where the kernel does not tell.
inline std::optional<BlockedSyscall> blocked_syscall(const std::string& syscall_path) {
  std::ifstream in(syscall_path);
  if (!in) return std::nullopt;
  BlockedSyscall call;
  std::string word;
  if (!(in >> word) || word == "running") return call;
  call.number = std::stol(word);
  for (unsigned long& arg : call.args)
    if (in >> word) arg = std::stoul(word, nullptr, 16);
  return call;
}

/// The CPU time `thread` has used so far (its CPU-time clock); fails the test and returns zero
/// where there is none.
inline std::chrono::nanoseconds cpu_time(std::thread& thread) {
  clockid_t clock{};
  timespec ts{};
  if (::pthread_getcpuclockid(thread.native_handle(), &clock) != 0 || ::clock_gettime(clock, &ts) != 0) {
    ADD_FAILURE() << "no CPU clock for the thread";
    return {};
  }
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace shm::test
