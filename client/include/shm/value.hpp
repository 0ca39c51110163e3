#pragma once
/// Value<T>: a typed view of a one-element segment, like multiprocessing.Value.

#include <atomic>
#include <chrono>
#include <concepts>
#include <type_traits>
#include <utility>

#include "shm/segment.hpp"
#include "shm/typecode.hpp"

namespace shm {

/// A shared scalar. Loads, stores and read-modify-writes are atomic operations straight on the
/// mapping; lock() gives the segment's robust recursive mutex for longer critical sections.
/// Created or attached through Client. Move-only; destroying it detaches.
/// `Value<const T>` is a read-only attachment: only atomic loads, which stay consistent without the lock.
template <Element T>
class Value {
  using Plain = std::remove_cv_t<T>;
  static constexpr bool kWritable = !std::is_const_v<T>;

 public:
  /// An empty handle.
  Value() noexcept = default;
  /// Wraps an attached segment whose typecode accepts T (Client checks this).
  explicit Value(Segment segment) noexcept : segment_(std::move(segment)) {}

  /// Atomically reads the value.
  [[nodiscard]] Plain load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    return ref().load(order);
  }
  /// Atomically writes the value.
  void store(Plain v, std::memory_order order = std::memory_order_seq_cst) noexcept
    requires kWritable
  {
    ref().store(v, order);
  }
  /// Atomically replaces the value and returns the old one.
  Plain exchange(Plain v) noexcept
    requires kWritable
  {
    return ref().exchange(v);
  }
  /// Atomically adds `d` and returns the previous value.
  Plain fetch_add(Plain d) noexcept
    requires(kWritable && !std::same_as<Plain, char>)
  {
    return ref().fetch_add(d);
  }
  /// Atomically subtracts `d` and returns the previous value.
  Plain fetch_sub(Plain d) noexcept
    requires(kWritable && !std::same_as<Plain, char>)
  {
    return ref().fetch_sub(d);
  }
  /// Atomically sets the value to `desired` if it equals `expected`; otherwise loads it into `expected`.
  bool compare_exchange(Plain& expected, Plain desired) noexcept
    requires kWritable
  {
    return ref().compare_exchange_strong(expected, desired);
  }

  /// Same as load().
  operator Plain() const noexcept { return load(); }  // NOLINT(google-explicit-constructor): Value reads like a T
  /// Same as store(). Note that `v = {}` stores `T{}` too; to drop the handle, assign `Value<T>()`.
  Value& operator=(Plain v) noexcept
    requires kWritable
  {
    store(v);
    return *this;
  }

  /// The element itself, for plain access while holding lock().
  [[nodiscard]] T& get() const noexcept { return *ptr(); }

  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock() { return segment_.lock(); }
  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock(std::error_code& ec) noexcept { return segment_.lock(ec); }
  /// Takes the segment's lock, waiting at most `timeout` (see Segment::lock_for).
  LockGuard lock_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return segment_.lock_for(timeout, ec);
  }

  /// The daemon's metadata.
  [[nodiscard]] const SegmentInfo& info() const noexcept { return segment_.info(); }
  /// The untyped segment underneath.
  [[nodiscard]] Segment& segment() noexcept { return segment_; }
  /// True when attached.
  explicit operator bool() const noexcept { return segment_.valid(); }
  /// Detaches now (see Segment::detach).
  void detach() { segment_.detach(); }

 private:
  [[nodiscard]] T* ptr() const noexcept { return reinterpret_cast<T*>(segment_.bytes().data()); }
  // A read-only attachment only ever loads through this, which never writes the page.
  [[nodiscard]] std::atomic_ref<Plain> ref() const noexcept { return std::atomic_ref<Plain>(*const_cast<Plain*>(ptr())); }

  Segment segment_;  ///< the attached segment
};

}  // namespace shm
