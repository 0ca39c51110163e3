#pragma once
/// Busy polling: waiting for an answer that is microseconds away by asking again, not sleeping.
///
/// On a virtual machine a CPU that goes idle while its thread sleeps costs tens of microseconds
/// to wake, more than a request to shmd takes. Both ends therefore poll for a short window
/// before they sleep: the daemon for the next request, the client for its reply
/// (docs/performance.md, "Busy polling").

#include <chrono>

namespace shm {

/// The default window at both ends: longer than a client's own work between two back-to-back
/// requests (attach, map, touch, unmap, detach is 10-20 us here), and longer than the daemon
/// takes to answer one.
inline constexpr std::chrono::microseconds kDefaultBusyPoll{50};

/// The longest busy-poll window either end accepts.
inline constexpr std::chrono::microseconds kMaxBusyPoll{10'000};

/// Whether this thread may run on more than one CPU (its affinity mask), so that what it spins
/// for can happen on another CPU meanwhile. Where it may not, spinning only delays that.
bool several_cpus_usable() noexcept;

/// several_cpus_usable() for the calling thread as it was at its first call here: looked up once
/// per thread, for the spins that ask on every wait (a contended lock's back-off, a wait's poll).
bool several_cpus_usable_by_this_thread() noexcept;

/// The window to use: `requested` clamped to [0, kMaxBusyPoll], or zero when this thread may
/// run on one CPU only, where spinning could only delay the process it waits for.
std::chrono::microseconds usable_busy_poll(std::chrono::microseconds requested) noexcept;

/// One round of a spin: tells the CPU (and a hypervisor) that this is a wait.
[[gnu::always_inline]] inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// Spins until `ready()` is true or `window` has passed; true if it got ready. A round is one call
/// of `ready` and a cpu_relax(); the clock is read every 32 rounds. How a wait polls its change
/// word (shm/change_word.hpp), and how the benchmarks' references poll as long.
template <typename Ready>
bool spin_until_ready(std::chrono::nanoseconds window, Ready ready) {
  if (window <= std::chrono::nanoseconds::zero()) return false;
  const auto until = std::chrono::steady_clock::now() + window;
  do {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

}  // namespace shm
