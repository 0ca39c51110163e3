#pragma once
/// BoundValue: shmd.Value, a one-element segment.

#include <pybind11/pybind11.h>

#include "bound_segment.hpp"
#include "shm/value.hpp"
#include "typed_handle.hpp"

namespace shmd_py {

/// A shared scalar: loads, stores and read-modify-writes are atomic operations of shm::Value<T>.
class BoundValue final : public BoundSegment {
 public:
  /// Takes over an attached Value segment.
  explicit BoundValue(shm::Segment segment);

  // NOLINTNEXTLINE(bugprone-exception-escape): segment_of never throws (typed_handle.hpp)
  shm::Segment& segment() noexcept override { return segment_of(handle_); }
  /// The value, atomically loaded.
  pybind11::object get();
  /// Stores `v`, atomically, once it is checked against the typecode.
  void set(pybind11::handle v);
  /// Atomic add; returns the previous value (numeric typecodes only).
  pybind11::object fetch_add(pybind11::handle d);
  /// Atomic subtract; returns the previous value (numeric typecodes only).
  pybind11::object fetch_sub(pybind11::handle d);
  /// Atomic exchange; returns the previous value (numeric typecodes only).
  pybind11::object exchange(pybind11::handle v);
  /// Atomic compare-and-exchange: (True, expected) if it stored `desired`, else (False, current).
  pybind11::tuple compare_exchange(pybind11::handle expected, pybind11::handle desired);

 private:
  /// Calls `f(value)` with the typed shm::Value<T>, for numeric T only; TypeError otherwise.
  template <class F>
  pybind11::object numeric(const char* op, F&& f);

  TypedHandle<shm::Value> handle_;  ///< the typed Value
};

}  // namespace shmd_py
