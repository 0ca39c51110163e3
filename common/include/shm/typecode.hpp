#pragma once
/// The typecodes of Python's `array`/`multiprocessing` module and their C++ types on Linux x86-64.
/// This is the one place that maps typecodes to types.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>

namespace shm {

/// The broad class of an element type, used to decide which C++ types may view a typecode.
enum class TypeClass { character, signed_integer, unsigned_integer, floating };

/// Static facts about one typecode.
struct TypeInfo {
  char code;                ///< the typecode letter
  std::size_t size;         ///< sizeof the C type
  TypeClass type_class;     ///< character, signed, unsigned or floating
  std::string_view c_name;  ///< the C type, for messages
};

/// Every typecode shmd accepts: 'c' (ctypes' c_char), then Python's `array` codes in its order.
inline constexpr auto kTypeCodes = std::to_array<TypeInfo>({
    {'c', 1, TypeClass::character, "char"},
    {'b', 1, TypeClass::signed_integer, "signed char"},
    {'B', 1, TypeClass::unsigned_integer, "unsigned char"},
    {'u', 4, TypeClass::character, "wchar_t"},
    {'h', 2, TypeClass::signed_integer, "short"},
    {'H', 2, TypeClass::unsigned_integer, "unsigned short"},
    {'i', 4, TypeClass::signed_integer, "int"},
    {'I', 4, TypeClass::unsigned_integer, "unsigned int"},
    {'l', 8, TypeClass::signed_integer, "long"},
    {'L', 8, TypeClass::unsigned_integer, "unsigned long"},
    {'q', 8, TypeClass::signed_integer, "long long"},
    {'Q', 8, TypeClass::unsigned_integer, "unsigned long long"},
    {'f', 4, TypeClass::floating, "float"},
    {'d', 8, TypeClass::floating, "double"},
});

/// The facts for `code`, or nullopt if it is not a valid typecode.
constexpr std::optional<TypeInfo> type_info(char code) noexcept {
  for (const auto& t : kTypeCodes)
    if (t.code == code) return t;
  return std::nullopt;
}

/// The typecode for a C++ element type (only the exact C types of the table have one).
template <class T>
inline constexpr char typecode_of = '\0';
template <>
inline constexpr char typecode_of<char> = 'c';
template <>
inline constexpr char typecode_of<wchar_t> = 'u';  // a code point, as Python's 'u' on Linux
template <>
inline constexpr char typecode_of<signed char> = 'b';
template <>
inline constexpr char typecode_of<unsigned char> = 'B';
template <>
inline constexpr char typecode_of<short> = 'h';
template <>
inline constexpr char typecode_of<unsigned short> = 'H';
template <>
inline constexpr char typecode_of<int> = 'i';
template <>
inline constexpr char typecode_of<unsigned int> = 'I';
template <>
inline constexpr char typecode_of<long> = 'l';
template <>
inline constexpr char typecode_of<unsigned long> = 'L';
template <>
inline constexpr char typecode_of<long long> = 'q';
template <>
inline constexpr char typecode_of<unsigned long long> = 'Q';
template <>
inline constexpr char typecode_of<float> = 'f';
template <>
inline constexpr char typecode_of<double> = 'd';

/// The C++ element types, in kTypeCodes' order: with typecode_of<>, the rest of the one table.
template <class... T>
struct ElementTypeList {};
/// Every element type, one per typecode.
using ElementTypes = ElementTypeList<char, signed char, unsigned char, wchar_t, short, unsigned short, int,
                                     unsigned int, long, unsigned long, long long, unsigned long long, float, double>;

namespace detail {
template <class F, class Unknown, class T, class... Rest>
constexpr decltype(auto) visit_typecode_from(char code, F& f, Unknown& unknown) {
  if (code == typecode_of<T>) return f(std::type_identity<T>{});
  if constexpr (sizeof...(Rest) > 0) {
    return visit_typecode_from<F, Unknown, Rest...>(code, f, unknown);
  } else {
    using R = decltype(f(std::type_identity<T>{}));
    if constexpr (std::is_void_v<decltype(unknown())> && !std::is_void_v<R>) {
      unknown();  // it throws: it has nothing to return
      throw std::invalid_argument("unknown typecode");
    } else {
      return unknown();
    }
  }
}
template <class F, class Unknown, class... T>
constexpr decltype(auto) visit_typecode_in(ElementTypeList<T...>, char code, F& f, Unknown& unknown) {
  return visit_typecode_from<F, Unknown, T...>(code, f, unknown);
}
}  // namespace detail

/// Calls `f(std::type_identity<T>{})` with the C++ element type T of typecode `code` and returns
/// its result: the one typecode-to-type dispatch, for everything that handles elements whose type
/// is known only at run time (text, shmctl, the Python module). For a code not in the table it
/// calls `unknown()` instead, which returns what `f` returns or throws (each caller has its own
/// error: a bug, a corrupt segment, a Python TypeError).
template <class F, class Unknown>
constexpr decltype(auto) visit_typecode(char code, F&& f, Unknown&& unknown) {
  return detail::visit_typecode_in(ElementTypes{}, code, f, unknown);
}

/// True for the C++ types that can be elements of a segment.
template <class T>
concept Element = typecode_of<std::remove_cv_t<T>>
!= '\0';

/// The type class of a C++ element type.
template <Element T>
constexpr TypeClass type_class_of() noexcept {
  return type_info(typecode_of<std::remove_cv_t<T>>)->type_class;
}

/// True when a segment of typecode `code` may be viewed as `T`: same size and same class.
/// So `'l'` and `'q'` both fit `std::int64_t`, but `'i'` never fits `double` or `unsigned`.
/// cv-qualifiers do not matter (`const T` is how a read-only attach is spelled).
template <Element T>
constexpr bool typecode_accepts(char code) noexcept {
  const auto info = type_info(code);
  return info && info->size == sizeof(T) && info->type_class == type_class_of<T>();
}

static_assert(sizeof(long) == 8 && sizeof(wchar_t) == 4 && sizeof(int) == 4 && sizeof(short) == 2 &&
                  sizeof(float) == 4 && sizeof(double) == 8 && sizeof(long long) == 8,
              "shmd's typecode sizes are those of Linux x86-64 (LP64)");
namespace detail {
template <class... T>
constexpr bool types_match_table(ElementTypeList<T...>) noexcept {
  std::size_t i = 0;
  return sizeof...(T) == std::size(kTypeCodes) &&
         ((kTypeCodes[i].code == typecode_of<T> && kTypeCodes[i++].size == sizeof(T)) && ...);
}
}  // namespace detail
static_assert(detail::types_match_table(ElementTypes{}), "ElementTypes must follow kTypeCodes, code by code");
static_assert(typecode_accepts<std::int64_t>('q') && typecode_accepts<std::int64_t>('l'));
static_assert(!typecode_accepts<double>('i') && !typecode_accepts<std::uint32_t>('i'));

}  // namespace shm
