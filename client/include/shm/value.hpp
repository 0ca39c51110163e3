#pragma once
/// Value<T>: a typed view of a one-element segment, like multiprocessing.Value.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <type_traits>
#include <utility>

#include "shm/segment_handle.hpp"
#include "shm/typecode.hpp"

namespace shm {

/// A shared scalar. Loads, stores and read-modify-writes are atomic operations straight on the
/// mapping; lock() gives the segment's robust recursive mutex for longer critical sections.
/// Every store and read-modify-write (and the release of a lock) notifies the segment's waiters
/// (see wait()); writes through get() do not: call notify() after them, or write under lock().
/// Created or attached through Client. Move-only; destroying it detaches.
/// `Value<const T>` is a read-only attachment: only atomic loads, which stay consistent without the lock.
template <Element T>
class Value : public SegmentHandle {
  using Plain = std::remove_cv_t<T>;
  static constexpr bool kWritable = !std::is_const_v<T>;

 public:
  /// An empty handle.
  Value() noexcept = default;
  /// Wraps an attached segment whose typecode accepts T (Client checks this).
  explicit Value(Segment segment) noexcept : SegmentHandle(std::move(segment)) {}

  /// Atomically reads the value.
  [[nodiscard]] Plain load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    return ref().load(order);
  }
  /// Atomically writes the value.
  void store(Plain v, std::memory_order order = std::memory_order_seq_cst) noexcept requires kWritable {
    ref().store(v, order);
    if (order == std::memory_order_seq_cst)
      segment_.notify_after_atomic();
    else
      segment_.notify();  // a weaker store does not order itself before the look at the waiters
  }
  /// Atomically replaces the value and returns the old one.
  Plain exchange(Plain v) noexcept requires kWritable {
    const Plain old = ref().exchange(v);
    segment_.notify_after_atomic();
    return old;
  }
  /// Atomically adds `d` and returns the previous value.
  Plain fetch_add(Plain d) noexcept requires(kWritable && !std::same_as<Plain, char>) {
    const Plain old = ref().fetch_add(d);
    segment_.notify_after_atomic();
    return old;
  }
  /// Atomically subtracts `d` and returns the previous value.
  Plain fetch_sub(Plain d) noexcept requires(kWritable && !std::same_as<Plain, char>) {
    const Plain old = ref().fetch_sub(d);
    segment_.notify_after_atomic();
    return old;
  }
  /// Atomically sets the value to `desired` if it equals `expected`; otherwise loads it into `expected`.
  bool compare_exchange(Plain& expected, Plain desired) noexcept requires kWritable {
    const bool swapped = ref().compare_exchange_strong(expected, desired);
    if (swapped) segment_.notify_after_atomic();  // a failed exchange changed nothing
    return swapped;
  }

  /// Same as load().
  operator Plain() const noexcept { return load(); }  // NOLINT(google-explicit-constructor): Value reads like a T
  /// Same as store(). Note that `v = {}` stores `T{}` too; to drop the handle, assign `Value<T>()`.
  Value& operator=(Plain v) noexcept requires kWritable {
    store(v);
    return *this;
  }

  /// The element itself, for plain access while holding lock().
  [[nodiscard]] T& get() const noexcept { return *ptr(); }

  /// Waits until `predicate(load())` holds (changed), the value is removed, or `timeout` passes.
  /// The predicate is tried on the value now first, then after each change; a value that holds
  /// only between two looks may pass unseen, as with any condition variable.
  template <std::predicate<Plain> Predicate>
  WaitResult wait_for(Predicate predicate, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    return wait_for_impl(predicate, timeout, nullptr);
  }
  /// Non-throwing form of wait_for(predicate, timeout) (the predicate itself may still throw).
  template <std::predicate<Plain> Predicate>
  WaitResult wait_for(Predicate predicate, std::chrono::nanoseconds timeout, std::error_code& ec) {
    return wait_for_impl(predicate, timeout, &ec);
  }

 private:
  [[nodiscard]] T* ptr() const noexcept { return reinterpret_cast<T*>(segment_.bytes().data()); }
  // A read-only attachment only ever loads through this, which never writes the page.
  [[nodiscard]] std::atomic_ref<Plain> ref() const noexcept {
    return std::atomic_ref<Plain>(*const_cast<Plain*>(ptr()));
  }

  /// Both wait_for()s: the throwing calls when `ec` is null.
  template <typename Predicate>
  WaitResult wait_for_impl(Predicate& predicate, std::chrono::nanoseconds timeout, std::error_code* ec) {
    using Clock = std::chrono::steady_clock;
    const bool forever = timeout == std::chrono::nanoseconds::max();
    const Clock::time_point deadline = forever ? Clock::time_point::max() : Clock::now() + timeout;
    // The count is taken before the load: a change after the load moves it.
    std::uint32_t seen = ec != nullptr ? segment_.changes(*ec) : segment_.changes();
    if (ec != nullptr && *ec) return {};
    for (;;) {
      if (predicate(load())) return {WaitStatus::changed, seen};
      std::chrono::nanoseconds left = std::chrono::nanoseconds::max();
      if (!forever)
        left = std::max<std::chrono::nanoseconds>(deadline - Clock::now(), std::chrono::nanoseconds::zero());
      const WaitResult r = ec != nullptr ? segment_.wait(seen, left, *ec) : segment_.wait(seen, left);
      if ((ec != nullptr && *ec) || r.status != WaitStatus::changed) return r;
      seen = r.changes;
    }
  }
};

}  // namespace shm
