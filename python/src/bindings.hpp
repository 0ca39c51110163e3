#pragma once
/// The bind_* functions module.cpp calls, one per bound type (each in its own *_binding.cpp).

#include <pybind11/pybind11.h>

#include <cstdint>

namespace shmd_py {

/// shmd.SegmentInfo.
void bind_segment_info(pybind11::module_& m);
/// shmd.Lock.
void bind_lock(pybind11::module_& m);
/// shmd.WaitResult (what Segment.wait returns).
void bind_wait_result(pybind11::module_& m);
/// shmd.Segment, the base of Value and Array (name, typecode, detach, the buffer protocol).
void bind_segment(pybind11::module_& m);
/// shmd.Value.
void bind_value(pybind11::module_& m);
/// shmd.Array.
void bind_array(pybind11::module_& m);
/// shmd.Client.
void bind_client(pybind11::module_& m);
/// shmd.Event and shmd.Subscription.
void bind_subscription(pybind11::module_& m);

/// A busy-poll window in microseconds, as Python passed it: ValueError if negative (the C++
/// setters clamp what is too long).
std::int64_t poll_window_from_python(std::int64_t microseconds);

}  // namespace shmd_py
