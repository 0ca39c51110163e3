#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "bindings.hpp"
#include "bound_lock.hpp"
#include "fast_method.hpp"
#include "shm/shm.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// How long one wait without the GIL lasts before signals are looked at (Ctrl-C works).
constexpr std::chrono::milliseconds kSignalCheckSlice{50};

/// Lock.__enter__, as a plain CPython method: acquire(), blocking.
// NOLINTNEXTLINE(bugprone-exception-escape): translating_errors catches everything (value_binding.cpp)
PyObject* lock_enter(PyObject* self, PyObject* /*unused*/) noexcept {
  auto* lock = cpp_self<BoundLock>(self);
  if (lock == nullptr) return nullptr;
  return translating_errors([&] { return PyBool_FromLong(lock->acquire(true, py::none()) ? 1 : 0); });
}

/// Lock.release, as a plain CPython method.
// NOLINTNEXTLINE(bugprone-exception-escape): translating_errors catches everything (value_binding.cpp)
PyObject* lock_release(PyObject* self, PyObject* /*unused*/) noexcept {
  auto* lock = cpp_self<BoundLock>(self);
  if (lock == nullptr) return nullptr;
  return translating_errors([&] {
    lock->release();
    Py_RETURN_NONE;
  });
}

/// Lock.__exit__(*exc_info), as a plain CPython method: release().
// NOLINTNEXTLINE(bugprone-exception-escape): translating_errors catches everything (value_binding.cpp)
PyObject* lock_exit(PyObject* self, PyObject* const* /*args*/, Py_ssize_t /*nargs*/) noexcept {
  return lock_release(self, nullptr);
}

PyMethodDef g_enter{"__enter__", lock_enter, METH_NOARGS, "acquire(), blocking; returns True."};
PyMethodDef g_exit{"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(lock_exit)), METH_FASTCALL,
                   "release()."};
PyMethodDef g_release{"release", lock_release, METH_NOARGS,
                      "Releases one level; RuntimeError if this thread does not hold it."};

}  // namespace

BoundLock::BoundLock(PyObject* owner, BoundSegment& segment)
    : owner_(owner), segment_(&segment), state_(segment.lock_state()), kind_(segment.kind()), name_(segment.name()) {}

BoundSegment& BoundLock::bound() const {
  if (segment_ == nullptr) throw py::value_error("the " + kind_ + " '" + name_ + "' of this Lock is gone");
  return *segment_;
}

std::string BoundLock::repr() const {
  return "<shmd.Lock of " + kind_ + " '" + name_ + "'" + (held() ? " held by this process>" : ">");
}

shm::LockGuard BoundLock::wait(BoundSegment& bound, shm::Segment& seg, double timeout_s) {
  using Clock = std::chrono::steady_clock;
  const bool forever = timeout_s < 0;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(forever ? 0.0 : timeout_s));
  const BusyMark mark(bound);  // detach() refuses meanwhile: the mutex must stay mapped
  for (;;) {
    std::chrono::nanoseconds slice = kSignalCheckSlice;
    if (!forever)
      slice = std::min(slice, std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()));
    shm::LockGuard guard;
    std::error_code ec;
    {
      py::gil_scoped_release nogil;
      guard = seg.lock_for(slice, ec);
    }
    if (ec) throw shm::Error(ec, shm::last_error_message());
    if (guard || (!forever && Clock::now() >= deadline)) return guard;
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
  BoundSegment& b = bound();
  shm::Segment& seg = b.live();
  // Uncontended (or recursive), this takes it with the GIL held: a few atomic operations.
  shm::LockGuard guard = seg.try_lock();  // also a read-only segment's error
  if (!guard && block) guard = wait(b, seg, t);
  if (!guard) return false;
  if (state_->guards.empty()) held_owner_ = py::reinterpret_borrow<py::object>(owner_);
  state_->owner_died = guard.owner_died();
  state_->owner = std::this_thread::get_id();
  state_->guards.push_back(std::move(guard));
  return true;
}

void BoundLock::release() {
  if (state_->guards.empty() || state_->owner != std::this_thread::get_id())
    throw std::runtime_error("cannot release un-acquired lock");
  state_->guards.pop_back();  // the guard unlocks one level
  if (state_->guards.empty()) {
    // Dropping the last reference to the Value runs forget_owner() on this Lock: last thing done.
    const py::object owner = std::move(held_owner_);
  }
}

void bind_lock(py::module_& m) {
  py::class_<BoundLock> cls(m, "Lock",
                            "The segment's robust, recursive, process-shared mutex, used like threading.RLock. "
                            "Get it from Value.get_lock() or Array.get_lock() (the same Lock every time).");
  cls.def("acquire", &BoundLock::acquire, py::arg("block") = true, py::arg("timeout") = py::none(),
          "Takes the lock (recursively); waits without the GIL. Returns False if not taken.")
      .def_property_readonly("owner_died", &BoundLock::owner_died,
                             "True after an acquire that recovered the lock from a holder that died "
                             "(the data it guards may be half-updated).")
      .def("__repr__", &BoundLock::repr);
  // The with statement's two calls, and release, without pybind11's dispatcher.
  add_method(cls, g_enter);
  add_method(cls, g_exit);
  add_method(cls, g_release);
}

}  // namespace shmd_py
