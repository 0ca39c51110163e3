#include <pybind11/pybind11.h>

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

void BoundSegment::detach() {
  if (closed()) return;
  if (exports > 0)
    throw py::buffer_error("cannot detach " + std::string(kind_) + " '" + name() + "': " + std::to_string(exports) +
                           " buffer view(s) of it exist; release them first (as mmap.close() refuses)");
  if (!lock_->guards.empty() || busy > 0)
    throw_error(shm::Errc::invalid_argument, "cannot detach " + std::string(kind_) + " '" + name() +
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
      .def_property_readonly("typecode", [](const BoundSegment& s) { return std::string(1, s.typecode()); },
                             "The segment's typecode.")
      .def_property_readonly("info", &BoundSegment::info, "The SegmentInfo the daemon reported at attach time.")
      .def_property_readonly("read_only", &BoundSegment::read_only, "True when attached read-only.")
      .def_property_readonly("closed", &BoundSegment::closed, "True once detached.")
      .def("detach", &BoundSegment::detach,
           "Unmaps and drops this reference, waiting for the daemon. BufferError while memoryviews of it exist.")
      .def("get_lock", [](py::handle self) { return self.cast<BoundSegment&>().get_lock(self); },
           "The segment's robust recursive lock (a Lock); the same Lock object every call.")
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
