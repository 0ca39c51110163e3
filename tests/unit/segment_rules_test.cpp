// Segment names, sizes, typecodes and the shm error category: the rules both sides share.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>

#include "shm/error.hpp"
#include "shm/names.hpp"
#include "shm/segment_layout.hpp"
#include "shm/typecode.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::wire::append_frame;
using shm::wire::append_varint;
using shm::wire::FrameDecoder;
using shm::wire::FrameError;
using shm::wire::kMaxFrameBytes;

// ---------------------------------------------------------------------------------------------
// Names, sizes, typecodes

TEST(SegmentName, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(shm::check_segment_name("a").ok());
  EXPECT_TRUE(shm::check_segment_name("Temperature_01.sensor-b").ok());
  EXPECT_TRUE(shm::check_segment_name("...").ok());
  EXPECT_TRUE(shm::check_segment_name(std::string(shm::kMaxNameLength, 'x')).ok());
}

TEST(SegmentName, RefusesEmptyTooLongAndForeignCharacters) {
  EXPECT_FALSE(shm::check_segment_name("").ok());
  EXPECT_FALSE(shm::check_segment_name(std::string(shm::kMaxNameLength + 1, 'x')).ok());
  for (const std::string bad : {"a/b", "a b", "a:b", "na\xc3\xafve", "tab\t", "star*", "new\nline"})
    EXPECT_FALSE(shm::check_segment_name(bad).ok()) << bad;
  EXPECT_FALSE(shm::check_segment_name(std::string("nul\0byte", 8)).ok());
}

TEST(SegmentName, HonoursAConfiguredMaximum) {
  EXPECT_TRUE(shm::check_segment_name("12345678", 8).ok());
  const auto named = shm::check_segment_name("123456789", 8);
  ASSERT_FALSE(named.ok());
  const std::string& why = named.failure().message;
  EXPECT_NE(why, "");
  EXPECT_NE(why.find('8'), std::string::npos) << "the message should name the limit: " << why;
}

TEST(SegmentSizes, ArrayDataStartsAfterTheHeaderAligned) {
  EXPECT_EQ(shm::kArrayDataOffset % shm::kSegmentAlignment, 0U);
  EXPECT_GE(shm::kArrayDataOffset, sizeof(shm::SegmentHeader));
  const auto s = shm::segment_sizes(8, 1000, shm::Kind::array);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data_offset, shm::kArrayDataOffset);
  EXPECT_EQ(s->data_bytes, 8000U);
  EXPECT_EQ(s->mapping_bytes, 8000U + shm::kArrayDataOffset);
}

TEST(SegmentSizes, AValueSharesTheMutexCacheLineInsideTheHeader) {
  constexpr std::size_t kLine = shm::kSegmentAlignment;
  const std::size_t mutex_at = offsetof(shm::SegmentHeader, mutex);
  EXPECT_EQ(shm::kValueDataOffset / kLine, mutex_at / kLine);
  EXPECT_EQ((mutex_at + sizeof(pthread_mutex_t) - 1) / kLine, mutex_at / kLine) << "the mutex spans one line";
  EXPECT_EQ(shm::kValueDataOffset % 8, 0U) << "8-byte elements stay naturally aligned";
  for (const std::uint64_t size : {1U, 2U, 4U, 8U}) {
    const auto s = shm::segment_sizes(size, 1, shm::Kind::value);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->data_offset, shm::kValueDataOffset);
    EXPECT_EQ(s->data_bytes, size);
    EXPECT_EQ(s->mapping_bytes, sizeof(shm::SegmentHeader)) << "a Value is its header";
  }
  EXPECT_FALSE(shm::segment_sizes(4, 2, shm::Kind::value)) << "a Value has one element";
  EXPECT_FALSE(shm::segment_sizes(16, 1, shm::Kind::value)) << "and it fits its 8-byte slot";
  EXPECT_FALSE(shm::segment_sizes(4, 1, static_cast<shm::Kind>(3))) << "unknown kind";
}

TEST(SegmentSizes, RefusesZeroElementSizeAndOverflow) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  constexpr auto kArray = shm::Kind::array;
  EXPECT_FALSE(shm::segment_sizes(0, 1, kArray));
  EXPECT_FALSE(shm::segment_sizes(0, 1, shm::Kind::value));
  EXPECT_FALSE(shm::segment_sizes(8, max, kArray));
  EXPECT_FALSE(shm::segment_sizes(max, 2, kArray));
  EXPECT_FALSE(shm::segment_sizes(1, max, kArray));  // the header pushes it over
  const std::uint64_t largest = (max - shm::kArrayDataOffset) / 8;
  const auto edge = shm::segment_sizes(8, largest, kArray);
  ASSERT_TRUE(edge);
  EXPECT_LE(edge->mapping_bytes, max);
  EXPECT_FALSE(shm::segment_sizes(8, largest + 1, kArray));
  static_assert(shm::segment_sizes(4, 1, shm::Kind::array)->mapping_bytes == shm::kArrayDataOffset + 4);
}

TEST(Typecode, TableHasCtypesCharAndPythonsArrayCodesWithLp64Sizes) {
  const std::string codes = "cbBuhHiIlLqQfd";
  ASSERT_EQ(std::size(shm::kTypeCodes), codes.size());
  for (const char c : codes) EXPECT_TRUE(shm::type_info(c)) << c;
  for (const char c : std::string("xwe?zs\0", 7)) EXPECT_FALSE(shm::type_info(c)) << c;
  EXPECT_EQ(shm::type_info('u')->size, 4U);  // wchar_t on Linux, as in Python's array module
  EXPECT_EQ(shm::type_info('l')->size, 8U);
  EXPECT_EQ(shm::type_info('i')->size, 4U);
  EXPECT_EQ(shm::type_info('d')->size, 8U);
}

template <class T>
void expect_own_code_fits() {
  EXPECT_TRUE(shm::typecode_accepts<T>(shm::typecode_of<T>)) << shm::typecode_of<T>;
  EXPECT_EQ(shm::type_info(shm::typecode_of<T>)->size, sizeof(T));
}

TEST(Typecode, EveryElementTypeAcceptsItsOwnCode) {
  expect_own_code_fits<char>();
  expect_own_code_fits<wchar_t>();
  expect_own_code_fits<signed char>();
  expect_own_code_fits<unsigned char>();
  expect_own_code_fits<short>();
  expect_own_code_fits<unsigned short>();
  expect_own_code_fits<int>();
  expect_own_code_fits<unsigned int>();
  expect_own_code_fits<long>();
  expect_own_code_fits<unsigned long>();
  expect_own_code_fits<long long>();
  expect_own_code_fits<unsigned long long>();
  expect_own_code_fits<float>();
  expect_own_code_fits<double>();
}

TEST(Typecode, AcceptsOnlySameSizeAndClass) {
  using shm::typecode_accepts;
  EXPECT_TRUE(typecode_accepts<std::int64_t>('l'));
  EXPECT_TRUE(typecode_accepts<std::int64_t>('q'));
  EXPECT_TRUE(typecode_accepts<std::uint64_t>('L'));
  EXPECT_TRUE(typecode_accepts<std::uint64_t>('Q'));
  EXPECT_FALSE(typecode_accepts<double>('i'));
  EXPECT_FALSE(typecode_accepts<double>('q'));
  EXPECT_FALSE(typecode_accepts<float>('i'));
  EXPECT_FALSE(typecode_accepts<int>('f'));
  EXPECT_FALSE(typecode_accepts<int>('I'));
  EXPECT_FALSE(typecode_accepts<unsigned>('i'));
  EXPECT_FALSE(typecode_accepts<int>('l'));
  EXPECT_FALSE(typecode_accepts<int>('h'));
  EXPECT_FALSE(typecode_accepts<char>('b'));
  EXPECT_FALSE(typecode_accepts<signed char>('c'));
  EXPECT_FALSE(typecode_accepts<int>('u'));  // same size, but a character
  EXPECT_FALSE(typecode_accepts<wchar_t>('i'));
  EXPECT_FALSE(typecode_accepts<unsigned char>('b'));
  EXPECT_FALSE(typecode_accepts<int>('x'));
  EXPECT_FALSE(typecode_accepts<int>('\0'));
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(ErrorCode, UsesTheShmCategoryAndMapsErrnoInOnePlace) {
  const std::error_code ec = shm::Errc::not_found;
  EXPECT_STREQ(ec.category().name(), "shm");
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  EXPECT_EQ(shm::errc_from_errno(ENOENT), shm::Errc::not_found);
  EXPECT_EQ(shm::errc_from_errno(EEXIST), shm::Errc::already_exists);
  EXPECT_EQ(shm::errc_from_errno(ECONNREFUSED), shm::Errc::daemon_unavailable);
  EXPECT_EQ(shm::errc_from_errno(EPIPE), shm::Errc::connection_lost);
  EXPECT_EQ(shm::errc_from_errno(ENOTRECOVERABLE), shm::Errc::lock_unrecoverable);
  for (int e = 1; e <= 15; ++e) EXPECT_FALSE(shm::make_error_code(static_cast<shm::Errc>(e)).message().empty());
}

}  // namespace
