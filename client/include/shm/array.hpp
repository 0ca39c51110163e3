#pragma once
/// Array<T>: a typed view of an array segment, like multiprocessing.Array.

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "shm/segment_handle.hpp"
#include "shm/typecode.hpp"

namespace shm {

/// A shared fixed-length array. Element access goes straight to the mapping; use lock() to make
/// multi-element updates atomic with respect to other lockers. Element writes are plain memory
/// writes and notify nobody; releasing a lock does (see wait()), and so does notify(). Created or
/// attached through Client. Move-only; destroying it detaches.
template <Element T>
class Array : public SegmentHandle {
 public:
  using value_type = T;             ///< element type
  using iterator = T*;              ///< contiguous iterator
  using const_iterator = const T*;  ///< contiguous const iterator

  /// An empty handle.
  Array() noexcept = default;
  /// Wraps an attached segment whose typecode accepts T (Client checks this).
  explicit Array(Segment segment) noexcept : SegmentHandle(std::move(segment)) {}

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
};

}  // namespace shm
