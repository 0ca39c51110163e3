#include <pybind11/pybind11.h>

#include <string>

#include "bindings.hpp"
#include "bound_value.hpp"
#include "element_codec.hpp"
#include "fast_method.hpp"

namespace py = pybind11;

namespace shmd_py {

BoundValue::BoundValue(shm::Segment segment)
    : BoundSegment(segment.info(), segment.read_only(), "Value"), handle_(make_typed<shm::Value>(std::move(segment))) {}

py::object BoundValue::get() {
  live();
  return std::visit([](auto& v) -> py::object { return element_to_python(v.load()); }, handle_);
}

void BoundValue::set(py::handle v) {
  writable();
  std::visit(
      [&]<class T>(shm::Value<T>& value) {
        const T x = element_from_python<T>(v);  // may raise (nothing is stored) or run __index__
        live();                                 // ... which may have detached it
        value.store(x);
      },
      handle_);
}

namespace {

/// Value.value's getter, without pybind11's dispatcher. (translating_errors catches everything;
/// clang-tidy sees throws in its handler's calls into pybind11, which catch their own.)
// NOLINTNEXTLINE(bugprone-exception-escape)
PyObject* value_get(PyObject* self, void* /*unused*/) noexcept {
  auto* v = cpp_self<BoundValue>(self);
  if (v == nullptr) return nullptr;
  return translating_errors([&] { return v->get().release().ptr(); });
}

/// Value.value's setter, without pybind11's dispatcher (see value_get).
// NOLINTNEXTLINE(bugprone-exception-escape)
int value_set(PyObject* self, PyObject* x, void* /*unused*/) noexcept {
  if (x == nullptr) {
    PyErr_SetString(PyExc_AttributeError, "can't delete attribute 'value'");
    return -1;
  }
  auto* v = cpp_self<BoundValue>(self);
  if (v == nullptr) return -1;
  PyObject* r = translating_errors([&] {
    v->set(x);
    Py_RETURN_NONE;
  });
  if (r == nullptr) return -1;
  Py_DECREF(r);
  return 0;
}

PyGetSetDef g_value{"value", value_get, value_set,
                    "The value (atomic load and store): int, float, bytes of length 1 ('c') or str of length 1 ('u').",
                    nullptr};

}  // namespace

template <class F>
py::object BoundValue::numeric(const char* op, F&& f) {
  writable();
  return std::visit(
      [&]<class T>(shm::Value<T>& value) -> py::object {
        if constexpr (kNumeric<T>) {
          return f(value);
        } else {
          throw py::type_error(std::string(op) + " needs a numeric typecode; Value '" + name() + "' has typecode '" +
                               typecode() + "'");
        }
      },
      handle_);
}

py::object BoundValue::fetch_add(py::handle d) {
  return numeric("fetch_add", [&]<class T>(shm::Value<T>& v) {
    const T x = element_from_python<T>(d);
    live();  // converting ran Python code, which may have detached it
    return element_to_python(v.fetch_add(x));
  });
}

py::object BoundValue::fetch_sub(py::handle d) {
  return numeric("fetch_sub", [&]<class T>(shm::Value<T>& v) {
    const T x = element_from_python<T>(d);
    live();
    return element_to_python(v.fetch_sub(x));
  });
}

py::object BoundValue::exchange(py::handle v) {
  return numeric("exchange", [&]<class T>(shm::Value<T>& value) {
    const T x = element_from_python<T>(v);
    live();
    return element_to_python(value.exchange(x));
  });
}

py::tuple BoundValue::compare_exchange(py::handle expected, py::handle desired) {
  return py::reinterpret_steal<py::tuple>(numeric("compare_exchange", [&]<class T>(shm::Value<T>& value) -> py::object {
                                            T e = element_from_python<T>(expected);
                                            const T d = element_from_python<T>(desired);
                                            live();
                                            const bool stored = value.compare_exchange(e, d);
                                            return py::make_tuple(stored, element_to_python(e));
                                          }).release());
}

void bind_value(py::module_& m) {
  py::class_<BoundValue, BoundSegment> cls(m, "Value", "A shared scalar (one element), like multiprocessing's Value.");
  add_getset(cls, g_value);  // the hottest attribute, without pybind11's dispatcher
  cls.def("fetch_add", &BoundValue::fetch_add, py::arg("delta"), "Atomically adds delta; returns the previous value.")
      .def("fetch_sub", &BoundValue::fetch_sub, py::arg("delta"),
           "Atomically subtracts delta; returns the previous value.")
      .def("exchange", &BoundValue::exchange, py::arg("value"), "Atomically stores value; returns the previous one.")
      .def("compare_exchange", &BoundValue::compare_exchange, py::arg("expected"), py::arg("desired"),
           "Atomically stores desired if the value equals expected. Returns (stored, previous value).")
      .def(
          "wait_for",
          [](py::object self, const py::object& predicate, const py::object& timeout) {
            auto& v = self.cast<BoundValue&>();
            return v.wait_for(predicate, timeout, [&] { return v.get(); });
          },
          py::arg("predicate"), py::arg("timeout") = py::none(),
          "Waits until predicate(value) is true (now, or after a change), the Value is removed, or timeout seconds "
          "pass (None: no limit). Returns a WaitResult, true when the predicate held.")
      .def("__repr__", [](BoundValue& v) {
        std::string r = "<shmd.Value '" + v.name() + "' typecode='" + std::string(1, v.typecode()) + "'";
        if (v.closed()) return r + " detached>";
        return r + " value=" + py::repr(v.get()).cast<std::string>() + (v.read_only() ? " read-only>" : ">");
      });
}

}  // namespace shmd_py
