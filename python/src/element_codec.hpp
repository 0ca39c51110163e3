#pragma once
/// Elements between Python and shared memory: typecode dispatch, and the conversions ctypes'
/// types make (ints range-checked per typecode, 'c' as one byte, 'u' as one character).

#include <pybind11/pybind11.h>

#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "shm/typecode.hpp"

namespace shmd_py {

/// The Python type name of `o`, for messages.
std::string python_type_name(pybind11::handle o);

/// The typecodes shmd accepts, in shm::kTypeCodes' order: "cbBuhHiIlLqQfd".
std::string all_typecodes();

/// The typecode named by a Python argument (a str of one valid character); TypeError
/// "bad typecode (must be ...)" otherwise.
char typecode_from_python(pybind11::handle typecode);

/// Raises TypeError "bad typecode" for a char that is not in the table.
[[noreturn]] void throw_bad_typecode(char typecode);

/// shm::visit_typecode, with Python's answer to a typecode not in the table: TypeError.
template <class F>
decltype(auto) with_element_type(char typecode, F&& f) {
  return shm::visit_typecode(typecode, std::forward<F>(f), [typecode] { throw_bad_typecode(typecode); });
}

/// True for the element types with arithmetic (everything but 'c' and 'u').
template <class T>
inline constexpr bool kNumeric = !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t>;

/// The struct-module format of one element, as memoryview and numpy read it ('u' is PEP 3118's
/// 'w', a UCS-4 character, as array.array('u') exports it on Linux).
std::string buffer_format(char typecode);

/// Converts a signed integer argument: __index__ required (TypeError), [lo, hi] (OverflowError).
long long signed_from_python(pybind11::handle o, long long lo, long long hi, char typecode);
/// Converts an unsigned integer argument: __index__ required (TypeError), [0, hi] (OverflowError).
unsigned long long unsigned_from_python(pybind11::handle o, unsigned long long hi, char typecode);
/// Converts a real-number argument (TypeError otherwise); for 'f', finite values beyond float's
/// range raise OverflowError, as struct.pack does.
double double_from_python(pybind11::handle o, char typecode);
/// 'c': bytes or bytearray of length 1, or an int 0..255 (as ctypes.c_char).
char char_from_python(pybind11::handle o);
/// 'u': a str of length 1 (as ctypes.c_wchar).
wchar_t wchar_from_python(pybind11::handle o);
/// 'u' to Python: a one-character str; ValueError for a wchar_t that is no code point.
pybind11::object wchar_to_python(wchar_t w);

/// A Python value as an element of type T, checked as the typecode demands.
template <shm::Element T>
T element_from_python(pybind11::handle o) {
  if constexpr (std::is_same_v<T, char>) {
    return char_from_python(o);
  } else if constexpr (std::is_same_v<T, wchar_t>) {
    return wchar_from_python(o);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(double_from_python(o, shm::typecode_of<T>));
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<T>(
        signed_from_python(o, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), shm::typecode_of<T>));
  } else {
    return static_cast<T>(unsigned_from_python(o, std::numeric_limits<T>::max(), shm::typecode_of<T>));
  }
}

/// An element as Python sees it: int, float, bytes of length 1 ('c') or str of length 1 ('u').
template <shm::Element T>
pybind11::object element_to_python(T v) {
  if constexpr (std::is_same_v<T, char>) {
    return pybind11::bytes(&v, 1);
  } else if constexpr (std::is_same_v<T, wchar_t>) {
    return wchar_to_python(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return pybind11::float_(static_cast<double>(v));
  } else if constexpr (std::is_signed_v<T>) {
    return pybind11::reinterpret_steal<pybind11::object>(PyLong_FromLongLong(v));
  } else {
    return pybind11::reinterpret_steal<pybind11::object>(PyLong_FromUnsignedLongLong(v));
  }
}

/// A buffer's single format character, with native byte order and alignment ('@', '=' and, on
/// this little-endian machine, '<') stripped; '\0' if it has another form.
inline char plain_format(const char* format) {
  std::string_view f = format == nullptr ? "B" : format;
  if (!f.empty() && (f.front() == '@' || f.front() == '=' || f.front() == '<')) f.remove_prefix(1);
  return f.size() == 1 ? f.front() : '\0';
}

/// True when a buffer of struct format `f` and `itemsize` holds elements that are T's bytes.
template <class T>
bool buffer_fits(char f, Py_ssize_t itemsize) {
  if (itemsize != static_cast<Py_ssize_t>(sizeof(T))) return false;
  if constexpr (std::is_same_v<T, char>)
    return f == 'c' || f == 'B' || f == 'b';  // bytes into 'c'
  else if constexpr (std::is_same_v<T, wchar_t>)
    return f == 'w';
  else
    return shm::typecode_accepts<T>(f);  // same size and class: numpy's 'l' into 'q', say
}

/// Exactly `count` (if negative: any number of) elements from `value`. A buffer of matching
/// elements is copied as it is; anything else must be a sequence of convertible items.
/// Raises (ValueError for a wrong length) before the caller writes anything.
template <class T>
std::vector<T> sequence_elements(pybind11::handle value, Py_ssize_t count) {
  std::vector<T> out;
  if (PyObject_CheckBuffer(value.ptr()) != 0) {
    Py_buffer view{};
    if (PyObject_GetBuffer(value.ptr(), &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) == 0) {
      const bool fits = buffer_fits<T>(plain_format(view.format), view.itemsize);
      const Py_ssize_t n = view.itemsize > 0 ? view.len / view.itemsize : 0;
      if (fits && (count < 0 || n == count)) {
        out.resize(static_cast<std::size_t>(n));
        std::memcpy(out.data(), view.buf, static_cast<std::size_t>(view.len));
      }
      PyBuffer_Release(&view);
      if (fits && count >= 0 && n != count)
        throw pybind11::value_error("can only assign a sequence of the same size (" + std::to_string(n) + " for " +
                                    std::to_string(count) + " elements)");
      if (fits) return out;
    } else {
      PyErr_Clear();  // not contiguous, say: take it item by item
    }
  }
  // A str is a sequence of characters: only a 'u' Array takes one item by item.
  if (PySequence_Check(value.ptr()) == 0 || (!std::is_same_v<T, wchar_t> && PyUnicode_Check(value.ptr())))
    throw pybind11::type_error("expected a sequence or a buffer of elements, not " + python_type_name(value));
  // A tuple copy: converting an item runs Python code, which must not change what is iterated.
  const auto items = pybind11::reinterpret_steal<pybind11::object>(PySequence_Tuple(value.ptr()));
  if (!items) throw pybind11::error_already_set();
  const Py_ssize_t n = PyTuple_GET_SIZE(items.ptr());
  if (count >= 0 && n != count)
    throw pybind11::value_error("can only assign a sequence of the same size (" + std::to_string(n) + " for " +
                                std::to_string(count) + " elements)");
  out.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t k = 0; k < n; ++k) out.push_back(element_from_python<T>(PyTuple_GET_ITEM(items.ptr(), k)));
  return out;
}

}  // namespace shmd_py
