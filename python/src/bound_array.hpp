#pragma once
/// BoundArray: shmd.Array, a fixed-length array segment, indexed like a ctypes array.

#include <pybind11/pybind11.h>

#include <cstddef>

#include "bound_segment.hpp"
#include "shm/array.hpp"
#include "typed_handle.hpp"

namespace shmd_py {

/// A shared array. Elements are read and written straight in the mapping; the buffer protocol
/// (in BoundSegment) exposes that memory to memoryview and numpy.
class BoundArray final : public BoundSegment {
 public:
  /// Takes over an attached Array segment.
  explicit BoundArray(shm::Segment segment);

  // NOLINTNEXTLINE(bugprone-exception-escape): segment_of never throws (typed_handle.hpp)
  shm::Segment& segment() noexcept override { return segment_of(handle_); }
  /// Number of elements (ValueError once detached).
  std::size_t size();
  /// a[i] (negative i counts from the end) or a[slice] (a list; bytes for 'c'; str for 'u').
  pybind11::object getitem(pybind11::handle index);
  /// a[i] = v, or a[slice] = any sequence or buffer of the slice's length (ValueError otherwise).
  void setitem(pybind11::handle index, pybind11::handle value);
  /// Every element, as a[:] gives them.
  pybind11::object all();
  /// a == other, element by element, for any sequence (and for bytes, with 'c').
  pybind11::object equals(pybind11::handle other);
  /// 'c': the bytes up to the first NUL; 'u': the str up to the first NUL (as ctypes arrays).
  pybind11::object text_value();
  /// 'c' or 'u': stores `v` and a NUL after it if it is shorter than the array.
  void set_text_value(pybind11::handle v);
  /// 'c': every byte.
  pybind11::bytes raw();
  /// 'c': stores the bytes of `v` (at most the array's length) from element 0, with no NUL.
  void set_raw(pybind11::handle v);

 private:
  TypedHandle<shm::Array> handle_;  ///< the typed Array
};

}  // namespace shmd_py
