#include "shm/format.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "shm/error.hpp"
#include "shm/hex_digits.hpp"
#include "shm/json_quote.hpp"
#include "shm/result.hpp"

namespace shm::detail {
/// Records why the last operation on this thread failed (defined in client.cpp).
void set_last_error_message(std::string msg);
}  // namespace shm::detail

namespace shm {
namespace {

/// Throws for a typecode that is not in the table: formatting one is a caller's bug, and the
/// formatting functions have no error channel of their own.
[[noreturn]] void throw_bad_typecode(char typecode) {
  throw Error(make_error_code(Errc::invalid_argument), "unknown typecode '" + std::string(1, typecode) + "'");
}

/// shm::visit_typecode; a typecode not in the table is the caller's bug.
template <class F>
decltype(auto) visit_typecode(char typecode, F&& f) {
  return shm::visit_typecode(typecode, std::forward<F>(f), [typecode] { throw_bad_typecode(typecode); });
}

/// The element size of `typecode`; throws for an unknown typecode.
std::size_t element_size(char typecode) {
  const auto info = type_info(typecode);
  if (!info) throw_bad_typecode(typecode);
  return info->size;
}

/// Reads one T from `bytes`, which need not be aligned (memcpy, not a cast).
template <class T>
T load_element(std::span<const std::byte> bytes) {
  if (bytes.size() != sizeof(T))
    throw Error(make_error_code(Errc::invalid_argument),
                "element of " + std::to_string(bytes.size()) + " bytes; expected " + std::to_string(sizeof(T)));
  T v;
  std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}

/// "\xHH" for one byte.
std::string hex_escape(unsigned char b, std::string_view prefix) {
  std::string s(prefix);
  s += kHexDigits[b >> 4U];
  s += kHexDigits[b & 15U];
  return s;
}

/// Python's repr() of a one-byte bytes object: b'x', b'\x00', b"'".
std::string bytes_repr(unsigned char b) {
  // Python switches to double quotes only when the bytes hold a ' and no ".
  const char quote = b == '\'' ? '"' : '\'';
  std::string s = "b";
  s += quote;
  switch (b) {
    case '\\': s += "\\\\"; break;
    case '\t': s += "\\t"; break;
    case '\n': s += "\\n"; break;
    case '\r': s += "\\r"; break;
    default:
      if (b < 0x20 || b >= 0x7f)
        s += hex_escape(b, "\\x");
      else
        s += static_cast<char>(b);
  }
  s += quote;
  return s;
}

/// A one-character JSON string; bytes outside ASCII read as Latin-1 code points (\u00XX), the
/// rest is escaped as any JSON string is.
std::string json_char(unsigned char b) {
  if (b < 0x80) return json_quote(std::string(1, static_cast<char>(b)));
  return "\"" + hex_escape(b, "\\u00") + "\"";
}

/// The largest Unicode code point.
constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;

/// True for the UTF-16 surrogate range, which UTF-8 cannot hold.
constexpr bool is_surrogate(std::uint32_t cp) noexcept { return cp >= 0xD800 && cp <= 0xDFFF; }

/// `cp` (a valid, non-surrogate code point) as UTF-8.
std::string utf8_encode(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6U));
    s += static_cast<char>(0x80 | (cp & 0x3FU));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12U));
    s += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
    s += static_cast<char>(0x80 | (cp & 0x3FU));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18U));
    s += static_cast<char>(0x80 | ((cp >> 12U) & 0x3FU));
    s += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
    s += static_cast<char>(0x80 | (cp & 0x3FU));
  }
  return s;
}

/// `cp` as `prefix` followed by `digits` lower-case hex digits.
std::string hex_code(std::uint32_t cp, std::string_view prefix, int digits) {
  std::string s(prefix);
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
    s += kHexDigits[(cp >> static_cast<unsigned>(shift)) & 15U];
  return s;
}

/// Python's repr() of a one-character str: 'x', '\n', '\x00', '\ud800', "'". Escapes what
/// Python escapes among the C0/C1 controls and surrogates; prints every other code point.
/// A wchar_t that is no code point at all (never written by Python) reads as its \U escape.
std::string wchar_repr(wchar_t w) {
  const auto cp = std::bit_cast<std::uint32_t>(w);  // a negative wchar_t is no code point either
  const char quote = cp == '\'' ? '"' : '\'';
  std::string s(1, quote);
  switch (cp) {
    case '\\': s += "\\\\"; break;
    case '\t': s += "\\t"; break;
    case '\n': s += "\\n"; break;
    case '\r': s += "\\r"; break;
    default:
      if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0))
        s += hex_code(cp, "\\x", 2);
      else if (is_surrogate(cp))
        s += hex_code(cp, "\\u", 4);
      else if (cp > kMaxCodePoint)
        s += hex_code(cp, "\\U", 8);
      else
        s += utf8_encode(cp);
  }
  s += quote;
  return s;
}

/// A one-character JSON string (UTF-8; controls and surrogates as \u escapes); null for a
/// wchar_t that is no code point.
std::string json_wchar(wchar_t w) {
  const auto cp = std::bit_cast<std::uint32_t>(w);  // a negative wchar_t is no code point either
  if (cp > kMaxCodePoint) return "null";
  if (cp < 0x80) return json_char(static_cast<unsigned char>(cp));
  if (is_surrogate(cp) || cp <= 0xa0) return "\"" + hex_code(cp, "\\u", 4) + "\"";
  return "\"" + utf8_encode(cp) + "\"";
}

/// Python's repr(float): shortest round-trip digits, fixed notation for exponents -4..15.
std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";

  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));

  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const auto e_pos = sci.find('e');
  std::string digits;
  for (const char c : sci.substr(0, e_pos))
    if (c != '.') digits += c;
  std::string_view exp_text = sci.substr(e_pos + 1);
  const bool exp_negative = exp_text.front() == '-';
  exp_text.remove_prefix(1);  // to_chars always writes the exponent's sign
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  if (exp_negative) exp = -exp;

  if (exp >= 16 || exp < -4) {
    out += digits.front();
    if (digits.size() > 1) {
      out += '.';
      out += std::string_view(digits).substr(1);
    }
    out += exp < 0 ? "e-" : "e+";
    const std::string magnitude = std::to_string(std::abs(exp));
    if (magnitude.size() < 2) out += '0';
    out += magnitude;
  } else if (exp >= 0) {
    const auto int_digits = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_digits) {
      out += digits;
      out.append(int_digits - digits.size(), '0');
      out += ".0";
    } else {
      out += std::string_view(digits).substr(0, int_digits);
      out += '.';
      out += std::string_view(digits).substr(int_digits);
    }
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
  }
  return out;
}

/// One element as Python prints it.
template <class T>
std::string python_text(T v) {
  if constexpr (std::is_same_v<T, char>)
    return bytes_repr(static_cast<unsigned char>(v));
  else if constexpr (std::is_same_v<T, wchar_t>)
    return wchar_repr(v);
  else if constexpr (std::is_floating_point_v<T>)
    return float_repr(static_cast<double>(v));  // a c_float reads back in Python as a double
  else if constexpr (std::is_signed_v<T>)
    return std::to_string(static_cast<long long>(v));
  else
    return std::to_string(static_cast<unsigned long long>(v));
}

/// One element as JSON.
template <class T>
std::string json_text(T v) {
  if constexpr (std::is_same_v<T, char>) {
    return json_char(static_cast<unsigned char>(v));
  } else if constexpr (std::is_same_v<T, wchar_t>) {
    return json_wchar(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    // JSON has no inf or nan; Python's repr of a finite float is a valid JSON number.
    if (!std::isfinite(v)) return "null";
    return float_repr(static_cast<double>(v));
  } else {
    return python_text(v);
  }
}

/// Formats every whole element of `data` with `one` and joins them as `[a, b, c]`.
template <class Formatter>
std::string format_sequence(char typecode, std::span<const std::byte> data, Formatter one) {
  const std::size_t size = element_size(typecode);
  std::string out = "[";
  for (std::size_t off = 0; off + size <= data.size(); off += size) {
    if (off != 0) out += ", ";
    out += one(typecode, data.subspan(off, size));
  }
  out += ']';
  return out;
}

/// Records `why` as the thread's last error message and sets `ec` to invalid_argument.
void fail(std::error_code& ec, std::string why) {
  ec = make_error_code(Errc::invalid_argument);
  detail::set_last_error_message(std::move(why));
}

/// A text that does not parse as the element it should be.
Failure invalid(std::string why) { return Failure{Errc::invalid_argument, std::move(why)}; }

/// `"text" for typecode 'i' (int)`, for error messages.
std::string describe(std::string_view text, const TypeInfo& info) {
  // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) about a chain of string +.
  std::string out = "\"";
  out += text;
  out += "\" for typecode '";
  out += info.code;
  out += "' (";
  out += info.c_name;
  out += ')';
  return out;
}

/// Drops one leading '+', which from_chars does not take but people type; "+-1" stays junk.
std::string_view strip_plus(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

/// Parses an integer of type T, range-checked.
template <class T>
Result<T> parse_integer(std::string_view text, const TypeInfo& info) {
  text = strip_plus(text);
  const char* first = text.data();
  const char* last = text.data() + text.size();
  // Parsing into the widest type of the same signedness keeps "300 for 'b'" a range error,
  // not a parse error.
  using Wide = std::conditional_t<std::is_signed_v<T>, long long, unsigned long long>;
  Wide wide{};
  auto result = std::from_chars(first, last, wide);
  if constexpr (std::is_unsigned_v<T>) {
    // from_chars calls "-5" junk for an unsigned type; it is a number, just out of range.
    if (result.ec == std::errc::invalid_argument && !text.empty() && text.front() == '-') {
      long long negative = 0;
      result = std::from_chars(first, last, negative);
      if (result.ec == std::errc{} && result.ptr == last && negative == 0) return T{0};
      if (result.ec != std::errc::invalid_argument && result.ptr == last) result.ec = std::errc::result_out_of_range;
    }
  }
  const auto [ptr, err] = result;
  const std::string range =
      std::to_string(+std::numeric_limits<T>::min()) + ".." + std::to_string(+std::numeric_limits<T>::max());
  bool in_range = wide <= Wide{std::numeric_limits<T>::max()};
  if constexpr (std::is_signed_v<T>) in_range = in_range && wide >= Wide{std::numeric_limits<T>::min()};
  if (err == std::errc::result_out_of_range || (err == std::errc{} && ptr == last && !in_range)) {
    return invalid("value " + describe(text, info) + " is outside " + range);
  }
  if (err != std::errc{} || ptr != last) {
    return invalid("invalid value " + describe(text, info) + ": expected an integer in " + range);
  }
  return static_cast<T>(wide);
}

/// Parses a float or double: decimal, scientific, inf or nan.
template <class T>
Result<T> parse_floating(std::string_view text, const TypeInfo& info) {
  text = strip_plus(text);
  const char* last = text.data() + text.size();
  T v{};
  const auto [ptr, err] = std::from_chars(text.data(), last, v, std::chars_format::general);
  if (err == std::errc::result_out_of_range && ptr == last) {
    return invalid("value " + describe(text, info) + " is out of range");
  }
  if (err != std::errc{} || ptr != last) {
    return invalid("invalid value " + describe(text, info) + ": expected a number (decimal, scientific, inf or nan)");
  }
  return v;
}

/// The value of one hex digit, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses one byte: a single character, a backslash escape, or either inside b'...' (so the
/// text `get` prints can be fed back to `set`).
Result<char> parse_char(std::string_view text, const TypeInfo& info) {
  std::string_view inner = text;
  if (inner.size() >= 3 && inner.front() == 'b' && (inner[1] == '\'' || inner[1] == '"') && inner.back() == inner[1])
    inner = inner.substr(2, inner.size() - 3);
  if (inner.size() == 1) return inner.front();
  if (inner.size() == 2 && inner.front() == '\\') {
    switch (inner[1]) {
      case '\\': return '\\';
      case '\'': return '\'';
      case '"': return '"';
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case '0': return '\0';
      default: break;
    }
  }
  if (inner.size() == 4 && inner.substr(0, 2) == "\\x") {
    const int hi = hex_value(inner[2]);
    const int lo = hex_value(inner[3]);
    if (hi >= 0 && lo >= 0) return static_cast<char>(hi * 16 + lo);
  }
  return invalid("invalid value " + describe(text, info) +
                 R"(: expected exactly one byte, or an escape such as \x41, \n, \t, \r, \0 or \\)");
}

/// Decodes `text` if it is exactly one UTF-8 encoded code point (surrogates refused, as UTF-8 does).
std::optional<std::uint32_t> utf8_single(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto lead = static_cast<unsigned char>(text.front());
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (lead < 0x80) {
    n = 1;
    cp = lead;
  } else if ((lead & 0xE0U) == 0xC0U) {
    n = 2;
    cp = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U) {
    n = 3;
    cp = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U) {
    n = 4;
    cp = lead & 0x07U;
  } else {
    return std::nullopt;
  }
  if (text.size() != n) return std::nullopt;
  for (std::size_t i = 1; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0U) != 0x80U) return std::nullopt;
    cp = (cp << 6U) | (c & 0x3FU);
  }
  constexpr std::array<std::uint32_t, 5> kMinOfLength{0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinOfLength[n] || cp > kMaxCodePoint || is_surrogate(cp)) return std::nullopt;  // overlong or invalid
  return cp;
}

/// Parses `digits` hex digits exactly; nullopt on anything else.
std::optional<std::uint32_t> parse_hex(std::string_view digits) {
  std::uint32_t v = 0;
  for (const char c : digits) {
    const int h = hex_value(c);
    if (h < 0) return std::nullopt;
    v = v * 16 + static_cast<std::uint32_t>(h);
  }
  return v;
}

/// Parses one wide character: a single (UTF-8) character, a backslash escape (\n, \xHH,
/// \uHHHH, \UHHHHHHHH, ...), or either inside quotes as Python's repr() writes them (so the
/// text `get` prints can be fed back to `set`).
Result<wchar_t> parse_wchar(std::string_view text, const TypeInfo& info) {
  std::string_view inner = text;
  if (inner.size() >= 3 && (inner.front() == '\'' || inner.front() == '"') && inner.back() == inner.front())
    inner = inner.substr(1, inner.size() - 2);
  std::optional<std::uint32_t> cp = utf8_single(inner);
  if (!cp && inner.size() == 2 && inner.front() == '\\') {
    switch (inner[1]) {
      case '\\': cp = '\\'; break;
      case '\'': cp = '\''; break;
      case '"': cp = '"'; break;
      case 'n': cp = '\n'; break;
      case 't': cp = '\t'; break;
      case 'r': cp = '\r'; break;
      case '0': cp = 0; break;
      default: break;
    }
  }
  if (!cp && inner.size() > 2 && inner.front() == '\\') {
    const std::string_view digits = inner.substr(2);
    const std::size_t want = inner[1] == 'x' ? 2 : inner[1] == 'u' ? 4 : inner[1] == 'U' ? 8 : 0;
    if (want != 0 && digits.size() == want) cp = parse_hex(digits);
    if (cp && *cp > kMaxCodePoint) cp.reset();
  }
  if (cp) return static_cast<wchar_t>(*cp);
  return invalid("invalid value " + describe(text, info) +
                 R"(: expected exactly one character, or an escape such as \n, \x41, \u00e9 or \U0001f600)");
}

}  // namespace

std::string format_element(char typecode, std::span<const std::byte> element) {
  return visit_typecode(typecode,
                        [&]<class T>(std::type_identity<T>) { return python_text(load_element<T>(element)); });
}

std::string format_list(char typecode, std::span<const std::byte> data) {
  return format_sequence(typecode, data, format_element);
}

std::string format_json_element(char typecode, std::span<const std::byte> element) {
  return visit_typecode(typecode, [&]<class T>(std::type_identity<T>) { return json_text(load_element<T>(element)); });
}

std::string format_json_list(char typecode, std::span<const std::byte> data) {
  return format_sequence(typecode, data, format_json_element);
}

void parse_element(char typecode, std::string_view text, std::span<std::byte> out, std::error_code& ec) {
  ec.clear();
  const auto info = type_info(typecode);
  if (!info) return fail(ec, "unknown typecode '" + std::string(1, typecode) + "'");
  if (out.size() != info->size)
    return fail(ec, "output buffer holds " + std::to_string(out.size()) + " bytes; typecode '" +
                        std::string(1, typecode) + "' needs " + std::to_string(info->size));

  const Result<void> parsed = visit_typecode(typecode, [&]<class T>(std::type_identity<T>) -> Result<void> {
    const Result<T> v = [&] {
      if constexpr (std::is_same_v<T, char>)
        return parse_char(text, *info);
      else if constexpr (std::is_same_v<T, wchar_t>)
        return parse_wchar(text, *info);
      else if constexpr (std::is_floating_point_v<T>)
        return parse_floating<T>(text, *info);
      else
        return parse_integer<T>(text, *info);
    }();
    if (!v) return v.failure();
    std::memcpy(out.data(), &v.value(), sizeof(T));
    return {};
  });
  if (!parsed) fail(ec, parsed.failure().message);
}

}  // namespace shm
