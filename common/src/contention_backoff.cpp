// The segment lock's contention back-off: one policy, for every thread of the process.

#include "shm/contention_backoff.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "shm/busy_poll.hpp"

namespace shm::robust_fast {
namespace {

/// contention_backoff(), in nanoseconds, for every thread of the process.
std::atomic<std::int64_t> g_backoff_ns{kDefaultContentionBackoff.count()};

}  // namespace

/// A contended lock's back-off (see the header): pauses for contention_backoff() without
/// touching the mutex. Returns false, at once, where it should not back off.
[[gnu::noinline]] bool back_off() noexcept {
  const std::int64_t ns = g_backoff_ns.load(std::memory_order_relaxed);
  if (ns <= 0 || !several_cpus_usable_by_this_thread()) return false;  // the holder could not run meanwhile
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  do {
    cpu_relax();
    cpu_relax();
  } while (std::chrono::steady_clock::now() < until);
  return true;
}

void set_contention_backoff(std::chrono::nanoseconds backoff) noexcept {
  g_backoff_ns.store(std::clamp(backoff, std::chrono::nanoseconds::zero(), kMaxContentionBackoff).count(),
                     std::memory_order_relaxed);
}

std::chrono::nanoseconds contention_backoff() noexcept {
  return std::chrono::nanoseconds(g_backoff_ns.load(std::memory_order_relaxed));
}

}  // namespace shm::robust_fast
