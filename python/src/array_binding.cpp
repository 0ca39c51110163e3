#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bindings.hpp"
#include "bound_array.hpp"
#include "element_codec.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// The Python type name of `o`, for messages.
std::string type_name(py::handle o) { return py::str(py::type::handle_of(o).attr("__name__")); }

/// A resolved index or slice: `count` elements from `start`, `step` apart.
struct Span {
  Py_ssize_t start = 0;   ///< first element
  Py_ssize_t step = 1;    ///< distance between elements
  Py_ssize_t count = 0;   ///< number of elements
  bool is_slice = false;  ///< from a slice (else one index)
};

/// Resolves `index` (an int-like or a slice) against `n` elements; IndexError, TypeError.
Span resolve(py::handle index, std::size_t n) {
  const auto size = static_cast<Py_ssize_t>(n);
  Span s;
  if (PySlice_Check(index.ptr())) {
    Py_ssize_t stop = 0;
    if (PySlice_Unpack(index.ptr(), &s.start, &stop, &s.step) < 0) throw py::error_already_set();
    s.count = PySlice_AdjustIndices(size, &s.start, &stop, s.step);
    s.is_slice = true;
    return s;
  }
  if (!PyIndex_Check(index.ptr()))
    throw py::type_error("Array indices must be integers or slices, not " + type_name(index));
  Py_ssize_t i = PyNumber_AsSsize_t(index.ptr(), PyExc_IndexError);
  if (i == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (i < 0) i += size;
  if (i < 0 || i >= size) throw py::index_error("Array index out of range");
  s.start = i;
  s.count = 1;
  return s;
}

/// The elements of `data` at `s`, as Python: a list, or bytes ('c'), or str ('u').
template <class T>
py::object to_python_sequence(const T* data, const Span& s) {
  std::vector<T> v(static_cast<std::size_t>(s.count));
  if (s.step == 1 && s.count > 0) {
    std::memcpy(v.data(), data + s.start, v.size() * sizeof(T));
  } else {
    for (Py_ssize_t k = 0; k < s.count; ++k) v[static_cast<std::size_t>(k)] = data[s.start + k * s.step];
  }
  if constexpr (std::is_same_v<T, char>) {
    return py::bytes(v.data(), v.size());
  } else if constexpr (std::is_same_v<T, wchar_t>) {
    PyObject* str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, v.data(), s.count);
    if (str == nullptr) throw py::error_already_set();  // ValueError: no code point
    return py::reinterpret_steal<py::object>(str);
  } else {
    // Filled with PyList_SET_ITEM into the new list, as ctypes does: a[:] of a million elements
    // is a million new ints, and pybind11's item accessor cost as much again (docs/performance.md).
    auto out = py::reinterpret_steal<py::list>(PyList_New(s.count));
    if (!out) throw py::error_already_set();
    for (std::size_t k = 0; k < v.size(); ++k) {
      PyObject* item = element_to_python(v[k]).release().ptr();
      if (item == nullptr) throw py::error_already_set();  // MemoryError; `out` frees what it holds
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(k), item);
    }
    return out;
  }
}

}  // namespace

BoundArray::BoundArray(shm::Segment segment)
    : BoundSegment(segment.info(), segment.read_only(), "Array"), handle_(make_typed<shm::Array>(std::move(segment))) {}

std::size_t BoundArray::size() { return live().length(); }

py::object BoundArray::getitem(py::handle index) {
  const Span s = resolve(index, size());
  return std::visit(
      [&]<class T>(shm::Array<T>& a) -> py::object {
        if (s.is_slice) return to_python_sequence(a.data(), s);
        return element_to_python(a[static_cast<std::size_t>(s.start)]);
      },
      handle_);
}

void BoundArray::setitem(py::handle index, py::handle value) {
  writable();
  const Span s = resolve(index, size());
  std::visit(
      [&]<class T>(shm::Array<T>& a) {
        // Converting runs Python code (__index__, say), which may detach: live() again after it.
        if (!s.is_slice) {
          const T x = element_from_python<T>(value);
          live();
          a[static_cast<std::size_t>(s.start)] = x;
          return;
        }
        const std::vector<T> v = sequence_elements<T>(value, s.count);
        live();
        for (Py_ssize_t k = 0; k < s.count; ++k)
          a[static_cast<std::size_t>(s.start + k * s.step)] = v[static_cast<std::size_t>(k)];
      },
      handle_);
}

py::object BoundArray::all() { return getitem(py::slice(py::none(), py::none(), py::none())); }

py::object BoundArray::equals(py::handle other) {
  live();
  py::object mine = all();
  if (py::isinstance<BoundArray>(other)) return py::bool_(mine.equal(other.cast<BoundArray&>().all()));
  if (typecode() == 'c' && (PyBytes_Check(other.ptr()) || PyByteArray_Check(other.ptr())))
    return py::bool_(mine.equal(py::bytes(py::reinterpret_borrow<py::object>(other))));
  if (typecode() == 'u' && PyUnicode_Check(other.ptr())) return py::bool_(mine.equal(other));
  if (PySequence_Check(other.ptr()) == 0 || PyUnicode_Check(other.ptr()) || PyBytes_Check(other.ptr()))
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  // Compare as lists: a 'c' or 'u' array's items are one-element bytes or str.
  const auto items = py::reinterpret_steal<py::list>(PySequence_List(mine.ptr()));
  const auto theirs = py::reinterpret_steal<py::object>(PySequence_List(other.ptr()));
  if (!theirs) throw py::error_already_set();
  if (typecode() == 'c') {
    py::list chars;
    for (const auto b : py::bytes(mine).cast<std::string>()) chars.append(py::bytes(&b, 1));
    return py::bool_(chars.equal(theirs));
  }
  return py::bool_(items.equal(theirs));
}

py::object BoundArray::text_value() {
  live();
  if (typecode() == 'c') {
    const std::string bytes = raw();
    return py::bytes(bytes.substr(0, bytes.find('\0')));
  }
  if (typecode() == 'u') {
    const py::str all_chars = all();
    const Py_ssize_t nul = PyUnicode_FindChar(all_chars.ptr(), 0, 0, PyUnicode_GetLength(all_chars.ptr()), 1);
    if (nul < 0) return all_chars;
    return all_chars[py::slice(0, nul, 1)];
  }
  throw py::attribute_error("'Array' of typecode '" + std::string(1, typecode()) +
                            "' has no attribute 'value' (only 'c' and 'u' arrays have)");
}

void BoundArray::set_text_value(py::handle v) {
  if (typecode() != 'c' && typecode() != 'u')
    throw py::attribute_error("'Array' of typecode '" + std::string(1, typecode()) +
                              "' has no attribute 'value' (only 'c' and 'u' arrays have)");
  writable();
  std::visit(
      [&]<class T>(shm::Array<T>& a) {
        if constexpr (std::is_same_v<T, char> || std::is_same_v<T, wchar_t>) {
          std::vector<T> chars;
          if constexpr (std::is_same_v<T, char>) {
            if (!PyBytes_Check(v.ptr()) && !PyByteArray_Check(v.ptr()))
              throw py::type_error("bytes expected for a 'c' Array's value, not " + type_name(v));
            const std::string s = py::bytes(py::reinterpret_borrow<py::object>(v));
            chars.assign(s.begin(), s.end());
          } else {
            if (!PyUnicode_Check(v.ptr()))
              throw py::type_error("str expected for a 'u' Array's value, not " + type_name(v));
            for (const auto c : py::reinterpret_borrow<py::str>(v)) chars.push_back(wchar_from_python(c));
          }
          live();  // reading the str ran no Python code, but stay safe if that changes
          if (chars.size() > a.size())
            throw py::value_error("string too long (" + std::to_string(chars.size()) + " for " +
                                  std::to_string(a.size()) + " elements)");
          std::copy(chars.begin(), chars.end(), a.begin());
          if (chars.size() < a.size()) a[chars.size()] = T{};
        }
      },
      handle_);
}

py::bytes BoundArray::raw() {
  if (typecode() != 'c')
    throw py::attribute_error("'Array' of typecode '" + std::string(1, typecode()) +
                              "' has no attribute 'raw' (only 'c' arrays have)");
  const auto bytes = live().bytes();
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void BoundArray::set_raw(py::handle v) {
  if (typecode() != 'c')
    throw py::attribute_error("'Array' of typecode '" + std::string(1, typecode()) +
                              "' has no attribute 'raw' (only 'c' arrays have)");
  writable();
  Py_buffer view{};
  if (PyObject_GetBuffer(v.ptr(), &view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  const auto len = static_cast<std::size_t>(view.len);
  const auto bytes = live().bytes();
  if (len > bytes.size()) {
    PyBuffer_Release(&view);
    throw py::value_error("byte string too long (" + std::to_string(len) + " for " + std::to_string(bytes.size()) +
                          " bytes)");
  }
  std::memmove(bytes.data(), view.buf, len);
  PyBuffer_Release(&view);
}

void bind_array(py::module_& m) {
  py::class_<BoundArray, BoundSegment>(m, "Array", "A shared fixed-length array, like multiprocessing's Array.")
      .def("__len__", &BoundArray::size)
      .def("__getitem__", &BoundArray::getitem)
      .def("__setitem__", &BoundArray::setitem)
      .def("__eq__", &BoundArray::equals)
      .def("__delitem__", [](BoundArray&, py::handle) { throw py::type_error("Array does not support item deletion"); })
      .def_property("value", &BoundArray::text_value, &BoundArray::set_text_value,
                    "'c': bytes up to the first NUL; 'u': str up to the first NUL (as ctypes char arrays).")
      .def_property("raw", &BoundArray::raw, &BoundArray::set_raw, "'c': all the bytes (as ctypes char arrays).")
      .def(
          "wait_for",
          [](py::object self, const py::object& predicate, const py::object& timeout) {
            return self.cast<BoundArray&>().wait_for(predicate, timeout, [&] { return self; });
          },
          py::arg("predicate"), py::arg("timeout") = py::none(),
          "Waits until predicate(array) is true (now, or after a change), the Array is removed, or timeout seconds "
          "pass (None: no limit). Returns a WaitResult, true when the predicate held.")
      .def("__repr__", [](BoundArray& a) {
        std::string r = "<shmd.Array '" + a.name() + "' typecode='" + std::string(1, a.typecode()) + "'";
        if (a.closed()) return r + " detached>";
        return r + " length=" + std::to_string(a.size()) + (a.read_only() ? " read-only>" : ">");
      });
}

}  // namespace shmd_py
