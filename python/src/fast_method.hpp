#pragma once
/// Plain CPython methods and getsets on pybind11 types, for the hottest calls: pybind11's generic
/// dispatcher costs about 1,500 instructions a call before the C++ body runs (docs/performance.md).

#include <pybind11/pybind11.h>

namespace shmd_py {

/// The C++ object of `self`, an instance of the pybind11 type bound to T (or of a subclass whose
/// only bound C++ type is T); nullptr with TypeError set if it was never constructed.
template <class T>
T* cpp_self(PyObject* self) noexcept {  // NOLINT(bugprone-exception-escape): see below
  // get_value_and_holder() without a type to find returns the first value at once; its throw is
  // for a type lookup that fails, which this call never makes.
  auto* inst = reinterpret_cast<pybind11::detail::instance*>(self);
  pybind11::detail::value_and_holder vh = inst->get_value_and_holder();
  if (!vh.holder_constructed()) {
    PyErr_SetString(PyExc_TypeError, "an uninitialized shmd object");
    return nullptr;
  }
  return vh.template value_ptr<T>();
}

/// Runs `f()` and returns what it returns; a C++ exception becomes the Python exception pybind11
/// would have raised for it (its registered translators, shmd's own included), and nullptr.
template <class F>
PyObject* translating_errors(F&& f) noexcept {
  try {
    return f();
  } catch (pybind11::error_already_set& e) {
    e.restore();
    return nullptr;
  } catch (...) {
    namespace d = pybind11::detail;
    if (d::apply_exception_translators(d::get_local_internals().registered_exception_translators)) return nullptr;
    if (d::apply_exception_translators(d::get_internals().registered_exception_translators)) return nullptr;
    PyErr_SetString(PyExc_SystemError, "a C++ exception escaped every exception translator");
    return nullptr;
  }
}

/// Puts `def` (static storage) on `type` as a method, in place of pybind11's of the same name.
inline void add_method(pybind11::handle type, PyMethodDef& def) {
  const auto descr = pybind11::reinterpret_steal<pybind11::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(type.ptr()), &def));
  if (!descr || PyObject_SetAttrString(type.ptr(), def.ml_name, descr.ptr()) != 0) throw pybind11::error_already_set();
}

/// Puts `def` (static storage) on `type` as a data descriptor, in place of pybind11's property.
inline void add_getset(pybind11::handle type, PyGetSetDef& def) {
  const auto descr = pybind11::reinterpret_steal<pybind11::object>(
      PyDescr_NewGetSet(reinterpret_cast<PyTypeObject*>(type.ptr()), &def));
  if (!descr || PyObject_SetAttrString(type.ptr(), def.name, descr.ptr()) != 0) throw pybind11::error_already_set();
}

}  // namespace shmd_py
