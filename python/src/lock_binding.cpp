#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "bindings.hpp"
#include "bound_lock.hpp"
#include "shm/shm.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// How long one wait without the GIL lasts before signals are looked at (Ctrl-C works).
constexpr std::chrono::milliseconds kSignalCheckSlice{50};

}  // namespace

BoundLock::BoundLock(py::object owner, BoundSegment& segment)
    : owner_(std::move(owner)), segment_(&segment), state_(segment.lock_state()) {}

shm::LockGuard BoundLock::wait(shm::Segment& seg, double timeout_s) {
  using clock = std::chrono::steady_clock;
  const bool forever = timeout_s < 0;
  const auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(forever ? 0.0 : timeout_s));
  const BusyMark mark(*segment_);  // detach() refuses meanwhile: the mutex must stay mapped
  for (;;) {
    std::chrono::nanoseconds slice = kSignalCheckSlice;
    if (!forever) slice = std::min(slice, std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - clock::now()));
    shm::LockGuard guard;
    std::error_code ec;
    {
      py::gil_scoped_release nogil;
      guard = seg.lock_for(slice, ec);
    }
    if (ec) throw shm::Error(ec, shm::last_error_message());
    if (guard || (!forever && clock::now() >= deadline)) return guard;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

bool BoundLock::acquire(bool block, const py::object& timeout) {
  double t = -1;
  if (!timeout.is_none()) {
    t = PyFloat_AsDouble(timeout.ptr());
    if (t == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  }
  if (!block && t != -1) throw py::value_error("can't specify a timeout for a non-blocking call");
  if (std::isnan(t) || (t < 0 && t != -1)) throw py::value_error("timeout value must be a non-negative number");
  shm::Segment& seg = segment_->live();
  shm::LockGuard guard = seg.try_lock();  // the common case, and a read-only segment's error
  if (!guard && block) guard = wait(seg, t);
  if (!guard) return false;
  state_->owner_died = guard.owner_died();
  state_->owner = std::this_thread::get_id();
  state_->guards.push_back(std::move(guard));
  return true;
}

void BoundLock::release() {
  if (state_->guards.empty() || state_->owner != std::this_thread::get_id())
    throw std::runtime_error("cannot release un-acquired lock");
  state_->guards.pop_back();  // the guard unlocks one level
}

void bind_lock(py::module_& m) {
  py::class_<BoundLock>(m, "Lock",
                        "The segment's robust, recursive, process-shared mutex, used like threading.RLock. "
                        "Get it from Value.get_lock() or Array.get_lock().")
      .def("acquire", &BoundLock::acquire, py::arg("block") = true, py::arg("timeout") = py::none(),
           "Takes the lock (recursively); waits without the GIL. Returns False if not taken.")
      .def("release", &BoundLock::release, "Releases one level; RuntimeError if this thread does not hold it.")
      .def("__enter__", [](BoundLock& l) { return l.acquire(true, py::none()); })
      .def("__exit__", [](BoundLock& l, const py::args&) { l.release(); })
      .def_property_readonly("owner_died", &BoundLock::owner_died,
                             "True after an acquire that recovered the lock from a holder that died "
                             "(the data it guards may be half-updated).")
      .def("__repr__", [](const BoundLock& l) {
        return "<shmd.Lock of " + std::string(l.segment().kind()) + " '" + l.segment().name() + "'" +
               (l.held() ? " held by this process>" : ">");
      });
}

}  // namespace shmd_py
