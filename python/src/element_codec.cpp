#include "element_codec.hpp"

#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>

namespace py = pybind11;

namespace shmd_py {
namespace {

/// "'i' (int, -2147483648..2147483647)", for range errors.
std::string describe_range(char typecode, const std::string& range) {
  const auto info = shm::type_info(typecode);
  return std::string("typecode '") + typecode + "' (" + std::string(info ? info->c_name : "?") + ", " + range + ")";
}

/// `o` as a Python int through __index__, as ctypes' integer types take it; TypeError otherwise.
py::int_ as_index(py::handle o, char typecode) {
  PyObject* i = PyNumber_Index(o.ptr());
  if (i == nullptr) {
    PyErr_Clear();
    throw py::type_error(std::string("an integer is required for typecode '") + typecode + "', not '" +
                         python_type_name(o) + "'");
  }
  return py::reinterpret_steal<py::int_>(i);
}

/// Raises OverflowError: `value` does not fit `typecode`, whose range is lo..hi.
[[noreturn]] void throw_out_of_range(py::handle value, char typecode, const std::string& lo, const std::string& hi) {
  const std::string message = "value " + py::repr(value).cast<std::string>() + " is out of range for " +
                              describe_range(typecode, lo + ".." + hi);
  PyErr_SetString(PyExc_OverflowError, message.c_str());
  throw py::error_already_set();
}

}  // namespace

std::string python_type_name(py::handle o) { return py::str(py::type::handle_of(o).attr("__name__")); }

std::string all_typecodes() {
  std::string codes;
  for (const auto& t : shm::kTypeCodes) codes += t.code;
  return codes;
}

void throw_bad_typecode(char typecode) {
  std::string list;
  for (const auto& t : shm::kTypeCodes) {
    if (!list.empty()) list += ", ";
    list += t.code;
  }
  // The message multiprocessing and array give, with shmd's list.
  std::string got = typecode == '\0' ? std::string() : std::string(" '") + typecode + "'";
  throw py::type_error("bad typecode" + got + " (must be " + list + ")");
}

char typecode_from_python(py::handle typecode) {
  if (!py::isinstance<py::str>(typecode)) throw_bad_typecode('\0');
  const auto s = typecode.cast<std::string>();
  if (s.size() != 1) throw_bad_typecode('\0');
  if (!shm::type_info(s.front())) throw_bad_typecode(s.front());
  return s.front();
}

std::string buffer_format(char typecode) {
  if (typecode == 'u') return "w";
  return std::string(1, typecode);
}

long long signed_from_python(py::handle o, long long lo, long long hi, char typecode) {
  const py::int_ i = as_index(o, typecode);
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0 || v < lo || v > hi) throw_out_of_range(i, typecode, std::to_string(lo), std::to_string(hi));
  return v;
}

unsigned long long unsigned_from_python(py::handle o, unsigned long long hi, char typecode) {
  const py::int_ i = as_index(o, typecode);
  const int negative = PyObject_RichCompareBool(i.ptr(), py::int_(0).ptr(), Py_LT);
  if (negative < 0) throw py::error_already_set();
  bool in_range = negative == 0;
  unsigned long long v = 0;
  if (in_range) {
    v = PyLong_AsUnsignedLongLong(i.ptr());
    if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      in_range = false;
    }
  }
  if (!in_range || v > hi) throw_out_of_range(i, typecode, "0", std::to_string(hi));
  return v;
}

double double_from_python(py::handle o, char typecode) {
  const double d = PyFloat_AsDouble(o.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::type_error(std::string("a real number is required for typecode '") + typecode + "', not '" +
                         python_type_name(o) + "'");
  }
  if (typecode == 'f' && std::isinf(static_cast<float>(d)) && !std::isinf(d)) {
    PyErr_SetString(PyExc_OverflowError,
                    (py::repr(o).cast<std::string>() + " is out of range for typecode 'f' (float)").c_str());
    throw py::error_already_set();
  }
  return d;
}

char char_from_python(py::handle o) {
  if (PyBytes_Check(o.ptr()) && PyBytes_GET_SIZE(o.ptr()) == 1) return PyBytes_AS_STRING(o.ptr())[0];
  if (PyByteArray_Check(o.ptr()) && PyByteArray_GET_SIZE(o.ptr()) == 1) return PyByteArray_AS_STRING(o.ptr())[0];
  if (PyLong_Check(o.ptr())) return static_cast<char>(static_cast<unsigned char>(unsigned_from_python(o, 255, 'c')));
  throw py::type_error("one character bytes, bytearray or integer expected for typecode 'c', not " +
                       (PyBytes_Check(o.ptr()) || PyByteArray_Check(o.ptr()) ? std::string("a longer one")
                                                                             : "'" + python_type_name(o) + "'"));
}

wchar_t wchar_from_python(py::handle o) {
  if (!PyUnicode_Check(o.ptr()))
    throw py::type_error("a one-character str is expected for typecode 'u', not '" + python_type_name(o) + "'");
  if (PyUnicode_GetLength(o.ptr()) != 1)
    throw py::type_error("a one-character str is expected for typecode 'u', not a str of length " +
                         std::to_string(PyUnicode_GetLength(o.ptr())));
  return static_cast<wchar_t>(PyUnicode_ReadChar(o.ptr(), 0));
}

py::object wchar_to_python(wchar_t w) {
  const auto cp = std::bit_cast<std::uint32_t>(w);  // a negative wchar_t is no code point either
  if (cp > 0x10FFFF)
    throw py::value_error("the segment holds " + std::to_string(cp) + ", which is no Unicode code point");
  return py::reinterpret_steal<py::object>(PyUnicode_FromOrdinal(static_cast<int>(cp)));
}

}  // namespace shmd_py
