#pragma once
/// fork_generation(): which process, in fork() terms, is running, without a system call.

namespace shm::detail {

/// Counts the fork()s between the process that first asked and this one: equal values mean the
/// same process. Connections and Segments record it so that a fork()ed child never speaks on
/// its parent's stream or drops its parent's references. A pthread_atfork child handler bumps
/// it, so each call is a load instead of getpid(). (A child made by a raw clone() system call
/// skips the handler; vfork() and posix_spawn() children exec before they could use the library.)
unsigned fork_generation() noexcept;

}  // namespace shm::detail
