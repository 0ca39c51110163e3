#pragma once
/// Array<T>: a typed view of an array segment, like multiprocessing.Array.

#include <chrono>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "shm/segment.hpp"
#include "shm/typecode.hpp"

namespace shm {

/// A shared fixed-length array. Element access goes straight to the mapping; use lock() to make
/// multi-element updates atomic with respect to other lockers. Element writes are plain memory
/// writes and notify nobody; releasing a lock does (see wait()), and so does notify(). Created or
/// attached through Client. Move-only; destroying it detaches.
template <Element T>
class Array {
 public:
  using value_type = T;             ///< element type
  using iterator = T*;              ///< contiguous iterator
  using const_iterator = const T*;  ///< contiguous const iterator

  /// An empty handle.
  Array() noexcept = default;
  /// Wraps an attached segment whose typecode accepts T (Client checks this).
  explicit Array(Segment segment) noexcept : segment_(std::move(segment)) {}

  /// Number of elements.
  [[nodiscard]] std::size_t size() const noexcept { return segment_.length(); }
  /// Pointer to element 0.
  [[nodiscard]] T* data() const noexcept { return reinterpret_cast<T*>(segment_.bytes().data()); }
  /// All elements as a span.
  [[nodiscard]] std::span<T> span() const noexcept { return {data(), size()}; }
  /// Element `i`, unchecked.
  T& operator[](std::size_t i) const noexcept { return data()[i]; }
  /// Element `i`; throws std::out_of_range past the end.
  [[nodiscard]] T& at(std::size_t i) const {
    if (i >= size())
      throw std::out_of_range("shm::Array index " + std::to_string(i) + " >= size " + std::to_string(size()));
    return data()[i];
  }
  /// Start of the elements.
  [[nodiscard]] iterator begin() const noexcept { return data(); }
  /// One past the last element.
  [[nodiscard]] iterator end() const noexcept { return data() + size(); }

  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock() { return segment_.lock(); }
  /// Takes the segment's lock (see Segment::lock).
  LockGuard lock(std::error_code& ec) noexcept { return segment_.lock(ec); }
  /// Takes the segment's lock, waiting at most `timeout` (see Segment::lock_for).
  LockGuard lock_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return segment_.lock_for(timeout, ec);
  }

  /// The change count, to pass to wait() (see Segment::changes).
  [[nodiscard]] std::uint32_t changes() { return segment_.changes(); }
  /// The change count, to pass to wait() (see Segment::changes).
  [[nodiscard]] std::uint32_t changes(std::error_code& ec) noexcept { return segment_.changes(ec); }
  /// Tells waiters the elements changed, after writes outside a lock (see Segment::notify).
  void notify() noexcept { segment_.notify(); }
  /// Sleeps until the array changes after `seen` was taken, it is removed, or `timeout` passes (see Segment::wait).
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    return segment_.wait(seen, timeout);
  }
  /// Non-throwing form of wait(seen, timeout).
  WaitResult wait(std::uint32_t seen, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
    return segment_.wait(seen, timeout, ec);
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
  Segment segment_;  ///< the attached segment
};

}  // namespace shm
