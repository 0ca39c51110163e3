// Python-style and JSON formatting of segment elements, and strict parsing of element text.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "shm/format.hpp"
#include "shm/shm.hpp"

namespace {

/// The bytes of one element.
template <class T>
std::vector<std::byte> bytes_of(T v) {
  std::vector<std::byte> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

/// format_element for a typed value.
template <class T>
std::string py(T v) {
  return shm::format_element(shm::typecode_of<T>, bytes_of(v));
}

/// format_json_element for a typed value.
template <class T>
std::string json(T v) {
  return shm::format_json_element(shm::typecode_of<T>, bytes_of(v));
}

/// Parses `text` as typecode T; the error code is returned through `ec`.
template <class T>
T parse(std::string_view text, std::error_code& ec) {
  std::vector<std::byte> out(sizeof(T));
  shm::parse_element(shm::typecode_of<T>, text, out, ec);
  T v{};
  std::memcpy(&v, out.data(), sizeof(T));
  return v;
}

/// Parses `text` as typecode T and expects success.
template <class T>
T parse_ok(std::string_view text) {
  std::error_code ec;
  const T v = parse<T>(text, ec);
  EXPECT_FALSE(ec) << "'" << text << "': " << shm::last_error_message();
  return v;
}

/// True when parsing `text` as `typecode` fails with invalid_argument and explains why.
::testing::AssertionResult rejects(char typecode, std::string_view text) {
  const auto info = shm::type_info(typecode);
  std::vector<std::byte> out(info->size);
  std::error_code ec;
  shm::parse_element(typecode, text, out, ec);
  if (ec != shm::Errc::invalid_argument)
    return ::testing::AssertionFailure() << "'" << text << "' as '" << typecode << "' gave " << ec.message();
  if (shm::last_error_message().empty()) return ::testing::AssertionFailure() << "no explanation";
  return ::testing::AssertionSuccess();
}

TEST(FormatFloat, MatchesPythonReprForLabSheetValues) {
  EXPECT_EQ(py(2.678), "2.678");
  EXPECT_EQ(py(0.0), "0.0");
  EXPECT_EQ(py(-0.0), "-0.0");
  EXPECT_EQ(py(2.0), "2.0");
  EXPECT_EQ(py(100.0), "100.0");
  EXPECT_EQ(py(-1.5), "-1.5");
  EXPECT_EQ(py(0.1), "0.1");
}

TEST(FormatFloat, SwitchesToExponentOutsideMinus4To16) {
  EXPECT_EQ(py(0.0001), "0.0001");
  EXPECT_EQ(py(0.00001), "1e-05");
  EXPECT_EQ(py(0.000123), "0.000123");
  EXPECT_EQ(py(1e15), "1000000000000000.0");
  EXPECT_EQ(py(1e16), "1e+16");
  EXPECT_EQ(py(1.2345678901234568e+17), "1.2345678901234568e+17");
  EXPECT_EQ(py(1.5e300), "1.5e+300");
  EXPECT_EQ(py(5e-324), "5e-324");
  EXPECT_EQ(py(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(py(123456789.125), "123456789.125");
}

TEST(FormatFloat, PrintsInfinitiesAndNanLikePython) {
  EXPECT_EQ(py(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(py(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(py(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(py(std::numeric_limits<float>::infinity()), "inf");
}

TEST(FormatFloat, CFloatPrintsAsTheDoubleItWidensTo) {
  EXPECT_EQ(py(0.1F), "0.10000000149011612");
  EXPECT_EQ(py(2.5F), "2.5");
  EXPECT_EQ(py(1e-45F), "1.401298464324817e-45");
}

TEST(FormatInteger, PrintsEveryIntegerTypecodeExactly) {
  EXPECT_EQ(py<signed char>(-128), "-128");
  EXPECT_EQ(py<unsigned char>(255), "255");
  EXPECT_EQ(py<short>(-32768), "-32768");
  EXPECT_EQ(py<unsigned short>(65535), "65535");
  EXPECT_EQ(py<int>(81), "81");
  EXPECT_EQ(py<unsigned int>(4294967295U), "4294967295");
  EXPECT_EQ(py<long>(std::numeric_limits<long>::min()), "-9223372036854775808");
  EXPECT_EQ(py<unsigned long>(std::numeric_limits<unsigned long>::max()), "18446744073709551615");
  EXPECT_EQ(py<long long>(-1), "-1");
  EXPECT_EQ(py<unsigned long long>(0), "0");
}

TEST(FormatChar, PrintsLikePythonBytesRepr) {
  EXPECT_EQ(py('x'), "b'x'");
  EXPECT_EQ(py('\0'), "b'\\x00'");
  EXPECT_EQ(py('\n'), "b'\\n'");
  EXPECT_EQ(py('\t'), "b'\\t'");
  EXPECT_EQ(py('\r'), "b'\\r'");
  EXPECT_EQ(py('\''), "b\"'\"");
  EXPECT_EQ(py('"'), "b'\"'");
  EXPECT_EQ(py('\\'), "b'\\\\'");
  EXPECT_EQ(py('\x7f'), "b'\\x7f'");
  EXPECT_EQ(py(static_cast<char>(0xe9)), "b'\\xe9'");
}

TEST(FormatList, PrintsAPythonList) {
  const std::vector<int> squares{0, 1, 4};
  EXPECT_EQ(shm::to_python(std::span<const int>(squares)), "[0, 1, 4]");
  const std::vector<double> ds{2.678, 1.0};
  EXPECT_EQ(shm::to_python(std::span<const double>(ds)), "[2.678, 1.0]");
  const std::vector<char> cs{'a', '\0'};
  EXPECT_EQ(shm::to_python(std::span<const char>(cs)), "[b'a', b'\\x00']");
  EXPECT_EQ(shm::format_list('i', {}), "[]");
  EXPECT_EQ(shm::to_python(42), "42");
}

TEST(FormatJson, PrintsNumbersAndNullForNonFinite) {
  EXPECT_EQ(json(2.678), "2.678");
  EXPECT_EQ(json(1e-05), "1e-05");
  EXPECT_EQ(json(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(json(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json(std::numeric_limits<float>::infinity()), "null");
  EXPECT_EQ(json<long long>(-42), "-42");
  EXPECT_EQ(json<unsigned long long>(18446744073709551615ULL), "18446744073709551615");
  EXPECT_EQ(json<signed char>(-1), "-1");
}

TEST(FormatJson, EscapesCharsAsOneCharacterStrings) {
  EXPECT_EQ(json('x'), "\"x\"");
  EXPECT_EQ(json('"'), "\"\\\"\"");
  EXPECT_EQ(json('\\'), "\"\\\\\"");
  EXPECT_EQ(json('\n'), "\"\\n\"");
  EXPECT_EQ(json('\0'), "\"\\u0000\"");
  EXPECT_EQ(json('\x1f'), "\"\\u001f\"");
  EXPECT_EQ(json(static_cast<char>(0xe9)), "\"\\u00e9\"");
}

TEST(FormatJson, PrintsAnArray) {
  const std::vector<int> v{0, -1, 4};
  EXPECT_EQ(shm::format_json_list('i', std::as_bytes(std::span<const int>(v))), "[0, -1, 4]");
  const std::vector<char> cs{'a', '"'};
  EXPECT_EQ(shm::format_json_list('c', std::as_bytes(std::span<const char>(cs))), "[\"a\", \"\\\"\"]");
  EXPECT_EQ(shm::format_json_list('d', {}), "[]");
}

TEST(FormatElement, ThrowsForUnknownTypecode) {
  const std::vector<std::byte> one(1);
  EXPECT_THROW(shm::format_element('z', one), shm::Error);
}

TEST(FormatParseInteger, AcceptsEveryTypecodesFullRange) {
  EXPECT_EQ(parse_ok<signed char>("-128"), -128);
  EXPECT_EQ(parse_ok<signed char>("127"), 127);
  EXPECT_EQ(parse_ok<unsigned char>("255"), 255);
  EXPECT_EQ(parse_ok<short>("-32768"), -32768);
  EXPECT_EQ(parse_ok<unsigned short>("65535"), 65535);
  EXPECT_EQ(parse_ok<int>("-2147483648"), std::numeric_limits<int>::min());
  EXPECT_EQ(parse_ok<unsigned int>("4294967295"), 4294967295U);
  EXPECT_EQ(parse_ok<long>("-9223372036854775808"), std::numeric_limits<long>::min());
  EXPECT_EQ(parse_ok<unsigned long>("18446744073709551615"), std::numeric_limits<unsigned long>::max());
  EXPECT_EQ(parse_ok<long long>("9223372036854775807"), std::numeric_limits<long long>::max());
  EXPECT_EQ(parse_ok<unsigned long long>("0"), 0U);
  EXPECT_EQ(parse_ok<int>("+5"), 5);
  EXPECT_EQ(parse_ok<unsigned int>("-0"), 0U);
}

TEST(FormatParseInteger, RejectsValuesOutOfTheTypesRange) {
  EXPECT_TRUE(rejects('b', "300"));
  EXPECT_TRUE(rejects('b', "128"));
  EXPECT_TRUE(rejects('b', "-129"));
  EXPECT_TRUE(rejects('B', "256"));
  EXPECT_TRUE(rejects('B', "-1"));
  EXPECT_TRUE(rejects('h', "32768"));
  EXPECT_TRUE(rejects('H', "65536"));
  EXPECT_TRUE(rejects('i', "2147483648"));
  EXPECT_TRUE(rejects('I', "4294967296"));
  EXPECT_TRUE(rejects('I', "-1"));
  EXPECT_TRUE(rejects('l', "9223372036854775808"));
  EXPECT_TRUE(rejects('q', "-9223372036854775809"));
  EXPECT_TRUE(rejects('Q', "18446744073709551616"));
  EXPECT_TRUE(rejects('L', "-5"));
}

TEST(FormatParseInteger, OutOfRangeMessageNamesTheRange) {
  EXPECT_TRUE(rejects('b', "300"));
  EXPECT_NE(shm::last_error_message().find("-128..127"), std::string::npos) << shm::last_error_message();
}

TEST(FormatParseInteger, RejectsJunk) {
  for (const char* junk : {"", "abc", "1.5", "1e3", " 5", "5 ", "0x10", "+-5", "--5", "5a", "+", "-"})
    EXPECT_TRUE(rejects('i', junk)) << junk;
}

TEST(FormatParseFloat, AcceptsDecimalScientificInfAndNan) {
  EXPECT_EQ(parse_ok<double>("2.678"), 2.678);
  EXPECT_EQ(parse_ok<double>("-1e-05"), -1e-05);
  EXPECT_EQ(parse_ok<double>("3"), 3.0);
  EXPECT_EQ(parse_ok<double>(".5"), 0.5);
  EXPECT_EQ(parse_ok<double>("+2.5"), 2.5);
  EXPECT_EQ(parse_ok<double>("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(parse_ok<double>("-inf"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(parse_ok<double>("nan")));
  EXPECT_EQ(parse_ok<float>("0.1"), 0.1F);
  EXPECT_EQ(parse_ok<float>("inf"), std::numeric_limits<float>::infinity());
}

TEST(FormatParseFloat, RejectsJunkAndOverflow) {
  for (const char* junk : {"", "abc", "1.5x", " 1", "1,5", "0x10", "1e", "--1"})
    EXPECT_TRUE(rejects('d', junk)) << junk;
  EXPECT_TRUE(rejects('d', "1e400"));
  EXPECT_TRUE(rejects('f', "1e39"));
}

TEST(FormatParseFloat, RoundTripsThroughFormat) {
  for (const double v : {2.678, 0.1, 1e-05, 1e+16, 1.2345678901234568e+17, -0.0, 5e-324}) {
    const std::string text = py(v);
    EXPECT_EQ(std::signbit(parse_ok<double>(text)), std::signbit(v));
    EXPECT_EQ(parse_ok<double>(text), v) << text;
  }
}

TEST(FormatParseChar, AcceptsOneByteOrAnEscape) {
  EXPECT_EQ(parse_ok<char>("x"), 'x');
  EXPECT_EQ(parse_ok<char>("\\x00"), '\0');
  EXPECT_EQ(parse_ok<char>("\\xE9"), static_cast<char>(0xe9));
  EXPECT_EQ(parse_ok<char>("\\n"), '\n');
  EXPECT_EQ(parse_ok<char>("\\\\"), '\\');
  EXPECT_EQ(parse_ok<char>("\\"), '\\');
  EXPECT_EQ(parse_ok<char>(","), ',');
}

TEST(FormatParseChar, AcceptsWhatFormatPrints) {
  for (const char c : {'x', '\0', '\n', '\'', '"', '\\', '\x7f'}) EXPECT_EQ(parse_ok<char>(py(c)), c) << py(c);
}

TEST(FormatParseChar, RejectsMoreThanOneByte) {
  for (const char* junk : {"", "ab", "\\x1", "\\xzz", "\\q", "b''", "\xc3\xa9"})
    EXPECT_TRUE(rejects('c', junk)) << junk;
}

TEST(FormatWchar, PrintsLikePythonStrRepr) {
  EXPECT_EQ(py(L'x'), "'x'");
  EXPECT_EQ(py(L'\''), "\"'\"");
  EXPECT_EQ(py(L'\\'), "'\\\\'");
  EXPECT_EQ(py(L'\n'), "'\\n'");
  EXPECT_EQ(py(L'\0'), "'\\x00'");
  EXPECT_EQ(py(static_cast<wchar_t>(0x85)), "'\\x85'");
  EXPECT_EQ(py(static_cast<wchar_t>(0xe9)), "'\xc3\xa9'");             // é, printed as UTF-8
  EXPECT_EQ(py(static_cast<wchar_t>(0x1f600)), "'\xf0\x9f\x98\x80'");  // beyond the BMP
  EXPECT_EQ(py(static_cast<wchar_t>(0xd800)), "'\\ud800'");            // a lone surrogate
  EXPECT_EQ(py(static_cast<wchar_t>(0x110000)), "'\\U00110000'");      // no code point at all
  const std::vector<wchar_t> ws = {L'a', L'b'};
  EXPECT_EQ(shm::format_list('u', std::as_bytes(std::span<const wchar_t>(ws))), "['a', 'b']");
}

TEST(FormatWchar, JsonIsAOneCharacterString) {
  EXPECT_EQ(json(L'x'), "\"x\"");
  EXPECT_EQ(json(L'"'), "\"\\\"\"");
  EXPECT_EQ(json(L'\n'), "\"\\n\"");
  EXPECT_EQ(json(static_cast<wchar_t>(0x85)), "\"\\u0085\"");
  EXPECT_EQ(json(static_cast<wchar_t>(0xe9)), "\"\xc3\xa9\"");
  EXPECT_EQ(json(static_cast<wchar_t>(0xdfff)), "\"\\udfff\"");
  EXPECT_EQ(json(static_cast<wchar_t>(-1)), "null");
}

TEST(FormatParseWchar, AcceptsOneCharacterOrAnEscape) {
  EXPECT_EQ(parse_ok<wchar_t>("x"), L'x');
  EXPECT_EQ(parse_ok<wchar_t>("\xc3\xa9"), static_cast<wchar_t>(0xe9));
  EXPECT_EQ(parse_ok<wchar_t>("\xf0\x9f\x98\x80"), static_cast<wchar_t>(0x1f600));
  EXPECT_EQ(parse_ok<wchar_t>("\\u00e9"), static_cast<wchar_t>(0xe9));
  EXPECT_EQ(parse_ok<wchar_t>("\\U0001F600"), static_cast<wchar_t>(0x1f600));
  EXPECT_EQ(parse_ok<wchar_t>("\\x41"), L'A');
  EXPECT_EQ(parse_ok<wchar_t>("\\n"), L'\n');
  EXPECT_EQ(parse_ok<wchar_t>("\\0"), L'\0');
  EXPECT_EQ(parse_ok<wchar_t>(","), L',');
}

TEST(FormatParseWchar, AcceptsWhatFormatPrints) {
  for (const wchar_t w : {L'x', L'\0', L'\n', L'\'', L'"', L'\\', static_cast<wchar_t>(0x85),
                          static_cast<wchar_t>(0xe9), static_cast<wchar_t>(0x1f600), static_cast<wchar_t>(0xd800)})
    EXPECT_EQ(parse_ok<wchar_t>(py(w)), w) << py(w);
}

TEST(FormatParseWchar, RejectsAnythingButOneCodePoint) {
  for (const char* junk : {"", "ab", "\xc3", "\xc3\xa9\xc3\xa9", "\xc0\x80", "\xed\xa0\x80", "\\U00110000", "\\u12",
                           "\\uzzzz", "\\q", "''"})
    EXPECT_TRUE(rejects('u', junk)) << junk;
}

TEST(FormatParseElement, RejectsUnknownTypecodeAndWrongBufferSize) {
  std::vector<std::byte> out(4);
  std::error_code ec;
  shm::parse_element('z', "1", out, ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
  shm::parse_element('d', "1", out, ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
}

TEST(FormatParseElement, ClearsTheErrorOnSuccess) {
  std::vector<std::byte> out(4);
  std::error_code ec = make_error_code(shm::Errc::not_found);
  shm::parse_element('i', "7", out, ec);
  EXPECT_FALSE(ec);
}

}  // namespace
