#pragma once
/// The change word in a segment's header (SegmentHeader::changes): notify and wait, in shared
/// memory, with a shared futex. proto/README.md ("The change word") is the protocol's reference.
///
/// Bit 0 says "watched": somebody holds a count (from changes() or a wait) and wants to hear of the
/// next change. Bits 1..31 are the count. A notify that finds bit 0 clear does nothing but one load
/// of a cache line that nobody writes while nobody watches (the header's first: every CPU keeps a
/// copy, however hard they fight over the data); one that finds it set adds 1 to the odd word, which
/// clears the bit and moves the count in one atomic step, and then wakes every sleeper. A watcher
/// sets bit 0 before it takes a count, so a change made after that is never missed; it compares
/// counts for inequality (the count wraps at 2^31; only exactly k * 2^31 changes between taking a
/// count and looking again could pass unseen).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>

#include "shm/segment_layout.hpp"
#include "shm/wait_result.hpp"

namespace shm::change_word {

/// Bit 0 of the word: somebody wants to hear of the next change.
inline constexpr std::uint32_t kWatched = 1;
/// What one change adds to the word's count (bits 1..31).
inline constexpr std::uint32_t kCountStep = 2;
/// A sleeper looks at the word at least this often, whatever its timeout: a notifier killed
/// between moving the count and its FUTEX_WAKE strands nobody for longer than this.
inline constexpr std::chrono::milliseconds kLongestSleep{1000};

/// How long a wait polls the word, by default, before it sleeps: as long as a client polls for its
/// reply (shm/busy_poll.hpp), since what it saves is the same, the wake-up of an idle CPU, which
/// costs a change that is microseconds away tens of microseconds on a virtual machine.
inline constexpr std::chrono::microseconds kDefaultPoll{50};

/// Sets how long every later wait() of this process polls the word before it sleeps: clamped to
/// [0, 10 ms] (a client's longest reply poll); zero sleeps at once. A thread that may run on one CPU only never polls.
/// Polling costs up to that much CPU time per wait that ends up asleep.
void set_busy_poll(std::chrono::microseconds window) noexcept;

/// The window set_busy_poll() set (kDefaultPoll until then).
std::chrono::microseconds busy_poll() noexcept;

/// The count a word stands for.
constexpr std::uint32_t count_of(std::uint32_t word) noexcept { return word >> 1; }

/// The slow half of notify(): moves the count, clearing bit 0, and wakes every sleeper.
void publish(std::uint32_t& word) noexcept;

/// Publishes a change made before this call by a seq_cst atomic operation (an atomic
/// read-modify-write, a seq_cst store, a mutex release): that operation orders it before this
/// load, so no fence is needed. One load and a branch when nobody watches.
inline void notify_after_seq_cst(std::uint32_t& word) noexcept {
  if ((std::atomic_ref<std::uint32_t>(word).load(std::memory_order_seq_cst) & kWatched) != 0) [[unlikely]]
    publish(word);
}
/// Publishes a change made by any writes before this call (plain stores included). The look at
/// bit 0 is a read-modify-write that changes nothing: against the watcher's compare-and-swap of
/// the same word it orders those writes as a fence would, and TSan sees why.
inline void notify(std::uint32_t& word) noexcept {
  if ((std::atomic_ref<std::uint32_t>(word).fetch_or(0, std::memory_order_seq_cst) & kWatched) != 0) [[unlikely]]
    publish(word);
}

/// Sets bit 0 for a process that cannot write the word (a read-only mapping: the daemon does it);
/// an error ends the wait. A plain function and its context: calling it never allocates.
struct Watcher {
  std::error_code (*fn)(void* context) = nullptr;  ///< asks for bit 0; null where the word is writable
  void* context = nullptr;                         ///< passed to fn
};

/// The current count, with bit 0 set first (through `watch` when `writable` is false), so that
/// the next change moves it. On an error from `watch`, `ec` is set and the count is returned anyway.
std::uint32_t watched_count(const SegmentHeader& header, bool writable, const Watcher& watch,
                            std::error_code& ec) noexcept;

/// Sleeps until the count differs from `seen`, the segment is removed, or `timeout` passes
/// (nanoseconds::max() waits for ever), polling the word for busy_poll() first. Never needs to
/// write the word when `writable` is false: `watch` sets bit 0 then. Loops over EINTR, EAGAIN and
/// spurious wakes.
WaitResult wait(const SegmentHeader& header, std::uint32_t seen, std::chrono::nanoseconds timeout, bool writable,
                const Watcher& watch, std::error_code& ec) noexcept;

/// The daemon's part of a remove: sets kSegmentRemoved, moves the count, and wakes every sleeper.
void mark_removed(SegmentHeader& header) noexcept;

}  // namespace shm::change_word
