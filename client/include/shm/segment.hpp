#pragma once
/// Segment: an attached shared segment, mapped into this process.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "shm/change_word.hpp"
#include "shm/lock_guard.hpp"
#include "shm/mapping.hpp"
#include "shm/robust_mutex_fast.hpp"
#include "shm/segment_info.hpp"
#include "shm/segment_layout.hpp"
#include "shm/wait_result.hpp"

namespace shm {

namespace detail {
class Connection;
struct SegmentAccess;
}  // namespace detail

/// One reference to a segment: its mapping plus the daemon-side reference count it holds.
/// Destroying it (or `detach()`) unmaps and drops the reference. Move-only.
/// The destructor (and move assignment) does not wait for the daemon: the reference is gone for
/// every later request of this Client at once, and for other connections a moment later.
/// `detach()` waits for the daemon's answer: when it returns, every connection sees the new count.
/// In a child created by fork() an inherited Segment still maps the memory, but its reference
/// belongs to the parent: the child's copy only unmaps.
/// Dropped while the dropping thread holds the segment's lock (a LockGuard that outlives its
/// Segment), a Segment stays mapped, and keeps its reference, until that thread releases the
/// lock: the guard's unlock and the thread's robust list never see unmapped memory. `detach()`
/// in that state is refused instead.
class Segment {
 public:
  /// An empty handle.
  Segment() noexcept = default;
  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  /// True when attached.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(mapping_); }
  explicit operator bool() const noexcept { return valid(); }
  /// The daemon's metadata for this segment, as of attach time.
  [[nodiscard]] const SegmentInfo& info() const noexcept { return info_; }
  /// The segment's name.
  [[nodiscard]] std::string_view name() const noexcept { return info_.name; }
  /// The segment's typecode.
  [[nodiscard]] char typecode() const noexcept { return info_.typecode; }
  /// Number of elements.
  [[nodiscard]] std::size_t length() const noexcept { return static_cast<std::size_t>(info_.length); }
  /// The element bytes, straight in shared memory. Writing them through a read-only
  /// attachment faults (SIGSEGV): check read_only().
  [[nodiscard]] std::span<std::byte> bytes() const noexcept {
    if (!mapping_) return {};
    return mapping_.bytes().subspan(static_cast<std::size_t>(info_.data_offset),
                                    static_cast<std::size_t>(info_.size_bytes));
  }
  /// True when attached read-only (the mapping is PROT_READ).
  [[nodiscard]] bool read_only() const noexcept { return read_only_; }

  /// Takes the segment's lock, blocking; reports a dead previous owner on the guard.
  /// A read-only attachment cannot lock (Errc::permission_denied): the mutex lives in the segment.
  LockGuard lock(std::error_code& ec) noexcept {
    // The common case inline: the lock is taken (robust_fast::lock, pthread_mutex_lock's results).
    if (mapping_ && !read_only_) [[likely]] {
      pthread_mutex_t& m = mutex();
      if (const int rc = robust_fast::lock(m); rc != 0) [[unlikely]]
        return settle_lock(rc, ec);
      ec.clear();
      return LockGuard(&m, false);
    }
    return refuse_lock("lock", ec);
  }
  /// Throwing form of lock(ec).
  LockGuard lock() {
    if (mapping_ && !read_only_) [[likely]] {
      pthread_mutex_t& m = mutex();
      const int rc = robust_fast::lock(m);
      if (rc == 0) [[likely]]
        return LockGuard(&m, false);
      return lock_slow(rc);  // we may hold it already (EOWNERDEAD): never lock twice
    }
    return lock_slow(kNotLockable);
  }
  /// Takes the lock, waiting at most `timeout`; an empty guard (and no error) if it is still
  /// held by somebody else then. Zero or less only tries, like try_lock().
  LockGuard lock_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  /// Throwing form of lock_for(timeout, ec).
  LockGuard lock_for(std::chrono::nanoseconds timeout);
  /// Takes the lock if it is free; an empty guard if somebody else holds it.
  LockGuard try_lock(std::error_code& ec) noexcept;
  /// Throwing form of try_lock(ec).
  LockGuard try_lock();

  /// The change count now, to pass to wait() as `seen`: any change made after this call moves it
  /// (it is a token, not a tally: changes nobody watches for do not count). A read-only
  /// attachment may have to ask the daemon to watch for it (one round trip), and can fail so.
  [[nodiscard]] std::uint32_t changes(std::error_code& ec) noexcept;
  /// Throwing form of changes(ec).
  [[nodiscard]] std::uint32_t changes();
  /// Tells waiters that the segment changed: after writes that do not do it themselves (raw
  /// writes through bytes(), an Array's elements, Value::get()). One read-modify-write that
  /// changes nothing when nobody waits.
  void notify() noexcept {
    if (mapping_ && !read_only_) [[likely]]
      change_word::notify(header().changes);
  }
  /// notify() right after a seq_cst atomic operation on the segment, which already orders the
  /// change before the look at the waiters: no fence. What Value's stores and updates call.
  void notify_after_atomic() noexcept {
    if (mapping_) [[likely]]
      change_word::notify_after_seq_cst(header().changes);
  }
  /// Sleeps in the kernel (a shared futex on the header's change word) until the segment changes
  /// after `seen` (from changes() or the last wait) was taken, it is removed, or `timeout` passes
  /// (nanoseconds::max(): never). It polls the word first, for change_word::busy_poll() (50 us
  /// by default, change_word::set_busy_poll(); never on one CPU), so a change microseconds away
  /// costs no wake-up of an idle CPU; a wait that ends asleep spends that much CPU. Needs no w bit. Errors: a detached
  /// handle, or a read-only attachment whose daemon cannot be reached.
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  /// Throwing form of wait(seen, timeout, ec); without a timeout it waits until a change or removal.
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max());

  /// Unmaps and has the daemon drop this reference, waiting until it has. Idempotent.
  /// Refused (Errc::invalid_argument, nothing changes) while this thread holds the lock.
  void detach(std::error_code& ec) noexcept;
  /// Throwing form of detach(ec).
  void detach();

 private:
  friend struct detail::SegmentAccess;
  Segment(SegmentInfo info, Mapping mapping, std::shared_ptr<detail::Connection> connection, bool read_only) noexcept;
  [[nodiscard]] SegmentHeader& header() const noexcept { return *reinterpret_cast<SegmentHeader*>(mapping_.data()); }
  [[nodiscard]] pthread_mutex_t& mutex() const noexcept { return header().mutex; }
  /// The Watcher of a read-only attachment: has the daemon set the change word's bit 0.
  static std::error_code watch_through_daemon(void* self) noexcept;
  LockGuard settle_lock(int rc, std::error_code& ec) noexcept;
  /// True when the calling thread holds this segment's lock (through any handle).
  [[nodiscard]] bool locked_by_this_thread() const noexcept;
  LockGuard refuse_lock(const char* what, std::error_code& ec) const noexcept;
  static constexpr int kNotLockable = -1;  ///< lock_slow(): detached or read-only, nothing was tried
  LockGuard lock_slow(int rc);
  /// Unmaps and empties the handle; returns the connection if this process holds the reference.
  std::shared_ptr<detail::Connection> unmap() noexcept;
  /// Unmaps and drops the reference without waiting for the daemon (destructor, move assignment).
  void release() noexcept;

  SegmentInfo info_;                                ///< daemon's metadata
  Mapping mapping_;                                 ///< the whole memfd, header included
  std::shared_ptr<detail::Connection> connection_;  ///< where the reference is held
  unsigned owner_generation_ = 0;                   ///< fork generation of the process that holds the reference
  bool read_only_ = false;                          ///< mapped PROT_READ
};

}  // namespace shm
