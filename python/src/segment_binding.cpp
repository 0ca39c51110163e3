#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>

#include "bindings.hpp"
#include "bound_lock.hpp"
#include "bound_segment.hpp"
#include "element_codec.hpp"
#include "errors.hpp"
#include "shm/shm.hpp"

namespace py = pybind11;

namespace shmd_py {

BoundSegment::BoundSegment(shm::SegmentInfo info, bool read_only, const char* kind)
    : info_(std::move(info)), read_only_(read_only), kind_(kind) {}

BoundSegment::~BoundSegment() {
  if (!lock_object_) return;
  // Its guards are gone (a held Lock keeps this object alive); it may outlive this object.
  try {
    lock_object_.cast<BoundLock&>().forget_owner();
  } catch (const py::cast_error&) {  // cannot happen: lock_object_ is always a Lock
  }
}

py::object BoundSegment::get_lock(py::handle self) {
  if (!lock_object_) lock_object_ = py::cast(BoundLock(self.ptr(), *this));
  return lock_object_;
}

shm::Segment& BoundSegment::live() {
  shm::Segment& s = segment();
  if (!s.valid()) throw py::value_error(std::string(kind_) + " '" + name() + "' is detached");
  return s;
}

shm::Segment& BoundSegment::writable() {
  shm::Segment& s = live();
  if (read_only_)
    throw_error(shm::Errc::permission_denied,
                std::string(kind_) + " '" + name() + "' is attached read-only; attach it read-write to change it");
  return s;
}

namespace {

/// How long a wait sleeps without the GIL before it looks for a signal (KeyboardInterrupt).
constexpr std::chrono::milliseconds kSignalCheckSlice{50};

/// A wait's timeout: None is for ever (nanoseconds::max()), else non-negative seconds.
std::chrono::nanoseconds timeout_of(const py::object& timeout) {
  if (timeout.is_none()) return std::chrono::nanoseconds::max();
  const double t = PyFloat_AsDouble(timeout.ptr());
  if (t == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (std::isnan(t) || t < 0) throw py::value_error("timeout value must be a non-negative number or None");
  if (t > 1e9) return std::chrono::nanoseconds::max();  // some 30 years: for ever
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(t));
}

}  // namespace

std::uint32_t BoundSegment::changes() {
  shm::Segment& s = live();
  std::error_code ec;
  std::uint32_t count = 0;
  if (read_only_) {
    const BusyMark mark(*this);
    py::gil_scoped_release nogil;  // a read-only segment may ask the daemon to watch for it
    count = s.changes(ec);
  } else {
    count = s.changes(ec);
  }
  if (ec) throw shm::Error(ec, shm::last_error_message());
  return count;
}

void BoundSegment::notify() { writable().notify(); }

shm::WaitResult BoundSegment::wait(std::uint32_t seen, const py::object& timeout) {
  using Clock = std::chrono::steady_clock;
  const std::chrono::nanoseconds total = timeout_of(timeout);
  const bool forever = total == std::chrono::nanoseconds::max();
  const Clock::time_point deadline = forever ? Clock::time_point::max() : Clock::now() + total;
  shm::Segment& s = live();
  const BusyMark mark(*this);  // detach() refuses meanwhile: the word must stay mapped
  for (;;) {
    std::chrono::nanoseconds slice = kSignalCheckSlice;
    if (!forever)
      slice = std::min(slice,
                       std::max<std::chrono::nanoseconds>(deadline - Clock::now(), std::chrono::nanoseconds::zero()));
    shm::WaitResult r;
    std::error_code ec;
    {
      py::gil_scoped_release nogil;
      r = s.wait(seen, slice, ec);
    }
    if (ec) throw shm::Error(ec, shm::last_error_message());
    if (r.status != shm::WaitStatus::timed_out || (!forever && Clock::now() >= deadline)) return r;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

shm::WaitResult BoundSegment::wait_for(const py::object& predicate, const py::object& timeout,
                                       const std::function<py::object()>& argument) {
  using Clock = std::chrono::steady_clock;
  const std::chrono::nanoseconds total = timeout_of(timeout);
  const bool forever = total == std::chrono::nanoseconds::max();
  const Clock::time_point deadline = forever ? Clock::time_point::max() : Clock::now() + total;
  std::uint32_t seen = changes();  // before the first look: a change after it moves the count
  for (;;) {
    if (predicate(argument()).cast<bool>()) return {shm::WaitStatus::changed, seen};
    py::object left = py::none();
    if (!forever) left = py::float_(std::max(std::chrono::duration<double>(deadline - Clock::now()).count(), 0.0));
    const shm::WaitResult r = wait(seen, left);
    if (!r.changed()) return r;
    seen = r.changes;
  }
}

void BoundSegment::detach() {
  if (closed()) return;
  if (exports > 0)
    throw py::buffer_error("cannot detach " + std::string(kind_) + " '" + name() + "': " + std::to_string(exports) +
                           " buffer view(s) of it exist; release them first (as mmap.close() refuses)");
  if (!lock_->guards.empty() || busy > 0)
    throw_error(shm::Errc::invalid_argument,
                "cannot detach " + std::string(kind_) + " '" + name() +
                    "': this process holds or waits for its lock (or hands it to the daemon); release it first");
  // Taken out with the GIL held, so that no other thread can see it half-detached.
  shm::Segment taken = std::move(segment());
  std::error_code ec;
  {
    py::gil_scoped_release nogil;
    taken.detach(ec);
  }
  if (ec) {
    std::string why = shm::last_error_message();
    if (taken.valid()) segment() = std::move(taken);  // refused: nothing changed
    throw_error(ec, "detach '" + name() + "': " + why);
  }
}

namespace {

/// pybind11's buffer slots, which the wrappers below call.
getbufferproc g_pybind_getbuffer = nullptr;
releasebufferproc g_pybind_releasebuffer = nullptr;

/// The BoundSegment behind `obj`, or nullptr.
BoundSegment* bound_of(PyObject* obj) noexcept {
  try {
    return &py::handle(obj).cast<BoundSegment&>();
  } catch (...) {
    return nullptr;
  }
}

/// bf_getbuffer: refuses a detached segment (with ValueError, before pybind11's def_buffer
/// function would see it), then counts the export.
int get_buffer(PyObject* obj, Py_buffer* view, int flags) {
  BoundSegment* s = bound_of(obj);
  if (s == nullptr || s->closed()) {
    view->obj = nullptr;
    if (s == nullptr)
      PyErr_SetString(PyExc_BufferError, "not an shmd segment");
    else
      PyErr_SetString(PyExc_ValueError, (std::string(s->kind()) + " '" + s->name() + "' is detached").c_str());
    return -1;
  }
  const int rc = g_pybind_getbuffer(obj, view, flags);
  if (rc == 0) ++s->exports;
  return rc;
}

/// bf_releasebuffer: counts the export back.
void release_buffer(PyObject* obj, Py_buffer* view) {
  g_pybind_releasebuffer(obj, view);
  if (BoundSegment* s = bound_of(obj)) --s->exports;
}

}  // namespace

void bind_segment(py::module_& m) {
  py::class_<BoundSegment> cls(m, "Segment", py::buffer_protocol(),
                               "What Value and Array share: one attached segment. Supports the buffer "
                               "protocol: memoryview(x) and numpy.frombuffer(x) see the shared memory itself.");
  cls.def_property_readonly("name", &BoundSegment::name, "The segment's name.")
      .def_property_readonly(
          "typecode", [](const BoundSegment& s) { return std::string(1, s.typecode()); }, "The segment's typecode.")
      .def_property_readonly("info", &BoundSegment::info, "The SegmentInfo the daemon reported at attach time.")
      .def_property_readonly("read_only", &BoundSegment::read_only, "True when attached read-only.")
      .def_property_readonly("closed", &BoundSegment::closed, "True once detached.")
      .def("detach", &BoundSegment::detach,
           "Unmaps and drops this reference, waiting for the daemon. BufferError while memoryviews of it exist.")
      .def(
          "get_lock", [](py::handle self) { return self.cast<BoundSegment&>().get_lock(self); },
          "The segment's robust recursive lock (a Lock); the same Lock object every call.")
      .def_property_readonly("changes", &BoundSegment::changes,
                             "The change count now, to pass to wait() as `seen`: any change made after reading it "
                             "moves it (a token, not a tally).")
      .def("notify", &BoundSegment::notify,
           "Wakes the segment's waiters after writes that do not (memoryview or numpy writes, Array elements "
           "outside the lock). Costs one atomic operation when nobody waits.")
      .def("wait", &BoundSegment::wait, py::arg("seen"), py::arg("timeout") = py::none(),
           "Sleeps (without the GIL) until the segment changes after `seen` was read, it is removed, or timeout "
           "seconds pass (None: no limit). Returns a WaitResult, true when it changed; its `changes` is the next "
           "`seen`.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](BoundSegment& s, const py::args&) { s.detach(); })
      .def_buffer([](BoundSegment& s) {
        // Only reached through get_buffer() above, for an attached segment.
        shm::Segment& seg = s.segment();
        const auto size = static_cast<py::ssize_t>(seg.info().element_size);
        return py::buffer_info(seg.bytes().data(), size, buffer_format(s.typecode()), 1,
                               {static_cast<py::ssize_t>(seg.length())}, {size}, s.read_only());
      });
  auto* type = reinterpret_cast<PyHeapTypeObject*>(cls.ptr());
  g_pybind_getbuffer = type->as_buffer.bf_getbuffer;
  g_pybind_releasebuffer = type->as_buffer.bf_releasebuffer;
  type->as_buffer.bf_getbuffer = get_buffer;
  type->as_buffer.bf_releasebuffer = release_buffer;
}

}  // namespace shmd_py
