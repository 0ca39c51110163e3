#include "shm/change_word.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <utility>

#include "shm/busy_poll.hpp"

namespace shm::change_word {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic_ref<std::uint32_t> word_of(const SegmentHeader& header) noexcept {
  // Only loaded through this when the mapping is read-only; a read-only mapping is never written.
  return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(header.changes));
}

/// busy_poll(), in microseconds, for every thread of the process.
std::atomic<std::int64_t> g_busy_poll_us{kDefaultPoll.count()};
static_assert(kDefaultPoll == shm::kDefaultBusyPoll, "a wait polls as long as a client polls for its reply");

/// The window this thread polls for: none where it may run on one CPU only (the writer it waits
/// for could not run meanwhile). The affinity is looked up at the thread's first wait.
std::chrono::nanoseconds poll_window() noexcept {
  if (!several_cpus_usable_by_this_thread()) return {};
  return std::chrono::microseconds(g_busy_poll_us.load(std::memory_order_relaxed));
}

bool removed(const SegmentHeader& header) noexcept {
  return (std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(header.flags)).load(std::memory_order_seq_cst) &
          kSegmentRemoved) != 0;
}

// FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the key is the page's file and offset, so a sleeper in one
// process is woken by a FUTEX_WAKE on the same word mapped anywhere else. FUTEX_WAIT only reads the
// word, which is why it works on a PROT_READ mapping.
void futex_wait(const std::uint32_t& word, std::uint32_t expected, std::chrono::nanoseconds timeout) noexcept {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(seconds.count());
  ts.tv_nsec = static_cast<long>((timeout - seconds).count());
  (void)::syscall(SYS_futex, &word, FUTEX_WAIT, expected, &ts, nullptr, 0);  // every result means "look again"
}

void futex_wake_all(std::uint32_t& word) noexcept {
  (void)::syscall(SYS_futex, &word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace

void publish(std::uint32_t& word) noexcept {
  auto ref = std::atomic_ref<std::uint32_t>(word);
  std::uint32_t w = ref.load(std::memory_order_seq_cst);
  // An odd word plus one: the count moves and bit 0 clears in one step. If another notifier got
  // there first, the count has moved after our change already, and it wakes the sleepers.
  while ((w & kWatched) != 0) {
    if (ref.compare_exchange_weak(w, w + 1, std::memory_order_seq_cst)) {
      futex_wake_all(word);
      return;
    }
  }
}

std::uint32_t watched_count(const SegmentHeader& header, bool writable, const Watcher& watch,
                            std::error_code& ec) noexcept {
  ec.clear();
  auto ref = word_of(header);
  std::uint32_t w = ref.load(std::memory_order_seq_cst);
  while ((w & kWatched) == 0) {
    if (writable) {
      if (ref.compare_exchange_weak(w, w | kWatched, std::memory_order_seq_cst)) return count_of(w);
      continue;
    }
    if (watch.fn == nullptr) {
      ec = std::make_error_code(std::errc::operation_not_permitted);
      return count_of(w);
    }
    if (ec = watch.fn(watch.context); ec) return count_of(w);
    w = ref.load(std::memory_order_seq_cst);
  }
  return count_of(w);
}

WaitResult wait(const SegmentHeader& header, std::uint32_t seen, std::chrono::nanoseconds timeout, bool writable,
                const Watcher& watch, std::error_code& ec) noexcept {
  ec.clear();
  const bool forever = timeout == std::chrono::nanoseconds::max();
  const Clock::time_point deadline = forever ? Clock::time_point::max() : Clock::now() + timeout;
  bool polled = false;
  for (;;) {
    // The count is taken watched, so the one returned is one the next change moves.
    const std::uint32_t count = watched_count(header, writable, watch, ec);
    if (ec) return {WaitStatus::timed_out, count};
    if (removed(header)) return {WaitStatus::removed, count};
    if (count != seen) return {WaitStatus::changed, count};
    std::chrono::nanoseconds left = kLongestSleep;
    if (!forever) {
      const Clock::time_point now = Clock::now();
      if (now >= deadline) return {WaitStatus::timed_out, count};
      left = std::min<std::chrono::nanoseconds>(left, deadline - now);
    }
    const std::uint32_t expected = (count << 1) | kWatched;
    // A change microseconds away comes sooner to a waiter that keeps looking than to one whose
    // CPU went idle (once per wait: a long wait sleeps in one-second slices, not polls). Then
    // round again, moved or not: the time left is less by the poll.
    if (!std::exchange(polled, true)) {
      // Loads only: the line stays shared with the writer until it writes. The loop looks again, seq_cst.
      (void)spin_until_ready(std::min(poll_window(), left),
                             [&] { return word_of(header).load(std::memory_order_relaxed) != expected; });
      continue;
    }
    // Asleep only while the word still is what was seen: a notify in between makes this return at once.
    futex_wait(header.changes, expected, left);
  }
}

void set_busy_poll(std::chrono::microseconds window) noexcept {
  g_busy_poll_us.store(std::clamp(window, std::chrono::microseconds::zero(), kMaxBusyPoll).count(),
                       std::memory_order_relaxed);
}

std::chrono::microseconds busy_poll() noexcept {
  return std::chrono::microseconds(g_busy_poll_us.load(std::memory_order_relaxed));
}

void mark_removed(SegmentHeader& header) noexcept {
  std::atomic_ref<std::uint32_t>(header.flags).fetch_or(kSegmentRemoved, std::memory_order_seq_cst);
  // Moving the count makes a sleeper that is only about to sleep find the word changed. Nobody
  // sleeps on a word whose bit 0 is clear (a sleeper's expected value has it set), so then there
  // is nobody to wake.
  const std::uint32_t before =
      std::atomic_ref<std::uint32_t>(header.changes).fetch_add(kCountStep, std::memory_order_seq_cst);
  if ((before & kWatched) != 0) futex_wake_all(header.changes);
}

}  // namespace shm::change_word
