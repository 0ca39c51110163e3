#pragma once
/// Reading a process's memory figures from /proc.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace shm::bench {

/// A field of /proc/PID/status in bytes (e.g. "RssAnon", "VmRSS"); throws if it is missing.
std::uint64_t proc_status_bytes(pid_t pid, const std::string& field);

}  // namespace shm::bench
