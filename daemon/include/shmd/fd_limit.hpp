#pragma once
/// Raising RLIMIT_NOFILE: shmd holds one fd per segment.

#include <cstdint>

namespace shmd {

/// Raises the soft RLIMIT_NOFILE to the hard limit (and, when privileged, both to the kernel
/// ceiling fs.nr_open) and returns the new soft limit.
std::uint64_t raise_fd_limit() noexcept;

}  // namespace shmd
