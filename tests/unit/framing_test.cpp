// Framing, protocol round trips and the shared building blocks of common/, with no daemon running.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "shm/error.hpp"
#include "shm/mapping.hpp"
#include "shm/names.hpp"
#include "shm/robust_mutex.hpp"
#include "shm/segment_layout.hpp"
#include "shm/typecode.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"

namespace {

using shm::wire::append_frame;
using shm::wire::append_varint;
using shm::wire::FrameDecoder;
using shm::wire::FrameError;
using shm::wire::kMaxFrameBytes;

std::string varint(std::uint64_t v) {
  std::string out;
  append_varint(out, v);
  return out;
}

std::string frame(std::string_view payload) {
  std::string out;
  append_frame(out, payload);
  return out;
}

/// Every payload `decoder` yields right now.
std::vector<std::string> drain(FrameDecoder& decoder) {
  std::vector<std::string> frames;
  std::string payload;
  while (decoder.next(payload)) frames.push_back(payload);
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Varints and frames

TEST(Varint, EncodesOneByteUpTo127) {
  EXPECT_EQ(varint(0), std::string(1, '\0'));
  EXPECT_EQ(varint(1), "\x01");
  EXPECT_EQ(varint(127), "\x7f");
}

TEST(Varint, EncodesBoundariesOfEachLength) {
  EXPECT_EQ(varint(128), "\x80\x01");
  EXPECT_EQ(varint(300), "\xac\x02");
  EXPECT_EQ(varint(16383), "\xff\x7f");
  EXPECT_EQ(varint(16384), "\x80\x80\x01");
  EXPECT_EQ(varint(65536), "\x80\x80\x04");
  EXPECT_EQ(varint(std::numeric_limits<std::uint64_t>::max()).size(), shm::wire::kMaxVarintBytes);
}

TEST(Varint, MatchesProtobufCodedStream) {
  for (const std::uint64_t v : std::initializer_list<std::uint64_t>{0, 1, 127, 128, 16383, 16384, 65536, 65537,
                                                                    (1ULL << 35) + 3,
                                                                    std::numeric_limits<std::uint64_t>::max()}) {
    std::string expected;
    {
      google::protobuf::io::StringOutputStream raw(&expected);
      google::protobuf::io::CodedOutputStream coded(&raw);
      coded.WriteVarint64(v);
    }
    EXPECT_EQ(varint(v), expected) << v;
  }
}

TEST(Framing, FrameIsLengthPrefixThenPayload) {
  EXPECT_EQ(frame(""), std::string(1, '\0'));
  EXPECT_EQ(frame("abc"), "\x03" "abc");
  const std::string p(128, 'x');
  EXPECT_EQ(frame(p), "\x80\x01" + p);
}

TEST(Framing, RoundTripsPayloadsAtVarintBoundaries) {
  for (const std::size_t n : {0UL, 1UL, 127UL, 128UL, 16383UL, 16384UL, kMaxFrameBytes}) {
    const std::string payload(n, 'p');
    FrameDecoder d;
    d.feed(frame(payload));
    const auto frames = drain(d);
    ASSERT_EQ(frames.size(), 1U) << n;
    EXPECT_EQ(frames[0], payload) << n;
    EXPECT_EQ(d.error(), FrameError::none);
    EXPECT_EQ(d.buffered(), 0U);
  }
}

TEST(Framing, AcceptsExactly64KiBAndRefusesOneByteMore) {
  FrameDecoder ok;
  ok.feed(frame(std::string(kMaxFrameBytes, 'a')));
  std::string payload;
  ASSERT_TRUE(ok.next(payload));
  EXPECT_EQ(payload.size(), kMaxFrameBytes);

  FrameDecoder too_big;
  too_big.feed(varint(kMaxFrameBytes + 1));  // the prefix alone is enough to refuse it
  EXPECT_FALSE(too_big.next(payload));
  EXPECT_EQ(too_big.error(), FrameError::frame_too_large);
}

TEST(Framing, OversizeErrorIsSticky) {
  FrameDecoder d;
  d.feed(varint(kMaxFrameBytes + 1) + std::string(kMaxFrameBytes + 1, 'x'));
  std::string payload;
  EXPECT_FALSE(d.next(payload));
  d.feed(frame("fine"));
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::frame_too_large);
}

TEST(Framing, HonoursACustomLimit) {
  FrameDecoder d(10);
  d.feed(frame(std::string(10, 'a')) + frame(std::string(11, 'b')));
  std::string payload;
  ASSERT_TRUE(d.next(payload));
  EXPECT_EQ(payload, std::string(10, 'a'));
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::frame_too_large);
}

TEST(Framing, RefusesVarintLongerThanTenBytes) {
  FrameDecoder d;
  d.feed(std::string(11, '\x80'));
  std::string payload;
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::varint_too_long);
}

TEST(Framing, RefusesTenContinuationBytesWithoutWaitingForMore) {
  FrameDecoder d;
  d.feed(std::string(10, '\xff'));
  std::string payload;
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::varint_too_long);
}

TEST(Framing, HugeTenByteLengthIsTooLargeNotMalformed) {
  FrameDecoder d;
  d.feed(varint(std::numeric_limits<std::uint64_t>::max()));
  std::string payload;
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::frame_too_large);
}

TEST(Framing, WaitsForAnIncompletePrefixOrPayload) {
  FrameDecoder d;
  std::string payload;
  d.feed(std::string_view("\x80", 1));  // first byte of a two-byte prefix
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::none);
  d.feed(std::string_view("\x01", 1));  // 128 bytes announced
  EXPECT_FALSE(d.next(payload));
  d.feed(std::string(127, 'z'));
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.buffered(), 2U + 127U);
  d.feed("z");
  ASSERT_TRUE(d.next(payload));
  EXPECT_EQ(payload, std::string(128, 'z'));
  EXPECT_EQ(d.error(), FrameError::none);
}

TEST(Framing, ReassemblesFramesFedOneByteAtATime) {
  const std::vector<std::string> payloads = {"", "a", std::string(127, 'b'), std::string(128, 'c'),
                                             std::string(16384, 'd'), "end"};
  std::string stream;
  for (const auto& p : payloads) append_frame(stream, p);
  FrameDecoder d;
  std::vector<std::string> got;
  for (const char c : stream) {
    d.feed(std::string_view(&c, 1));
    for (auto& f : drain(d)) got.push_back(std::move(f));
  }
  EXPECT_EQ(got, payloads);
  EXPECT_EQ(d.buffered(), 0U);
  EXPECT_EQ(d.error(), FrameError::none);
}

TEST(Framing, SplitsManyFramesArrivingInOneChunk) {
  std::vector<std::string> payloads;
  std::string stream;
  for (int i = 0; i < 2000; ++i) {
    payloads.push_back(std::string(static_cast<std::size_t>(i % 300), static_cast<char>('a' + i % 26)));
    append_frame(stream, payloads.back());
  }
  FrameDecoder d;
  d.feed(std::as_bytes(std::span(stream.data(), stream.size())));
  EXPECT_EQ(drain(d), payloads);
  EXPECT_EQ(d.buffered(), 0U);
}

TEST(Framing, KeepsATrailingPartialFrameAcrossFeeds) {
  std::string stream = frame("one") + frame("two") + frame("three");
  FrameDecoder d;
  d.feed(std::string_view(stream).substr(0, stream.size() - 2));
  EXPECT_EQ(drain(d), (std::vector<std::string>{"one", "two"}));
  d.feed(std::string_view(stream).substr(stream.size() - 2));
  EXPECT_EQ(drain(d), (std::vector<std::string>{"three"}));
}

TEST(Framing, DescribesEveryError) {
  for (const auto e : {FrameError::none, FrameError::varint_too_long, FrameError::frame_too_large})
    EXPECT_FALSE(shm::wire::to_string(e).empty());
}

// ---------------------------------------------------------------------------------------------
// Protobuf messages through the framing

using google::protobuf::util::MessageDifferencer;

shmd::v1::SegmentInfo sample_info(std::string name) {
  shmd::v1::SegmentInfo s;
  s.set_id(42);
  s.set_name(std::move(name));
  s.set_typecode("d");
  s.set_kind(shmd::v1::ARRAY);
  s.set_length(1000);
  s.set_element_size(8);
  s.set_data_offset(shm::kDataOffset);
  s.set_size_bytes(8000);
  s.set_mapping_bytes(8000 + shm::kDataOffset);
  s.set_refcount(3);
  s.set_uid(1000);
  s.set_gid(1000);
  s.set_creator_pid(12345);
  s.set_mode(0640);
  s.set_ephemeral(true);
  s.set_created_unix_ns(1'700'000'000'123'456'789);
  s.set_removed(true);
  return s;
}

std::vector<shmd::v1::Request> one_request_of_each_kind() {
  std::vector<shmd::v1::Request> all(9);
  std::uint64_t id = 1;
  for (auto& r : all) r.set_request_id(id++);
  all[0].mutable_hello()->set_protocol_version(1);
  all[0].mutable_hello()->set_client_name("unit test");
  auto* c = all[1].mutable_create();
  c->set_name("temperature");
  c->set_typecode("d");
  c->set_kind(shmd::v1::VALUE);
  c->set_length(1);
  c->set_mode(0600);
  c->set_ephemeral(true);
  c->set_initial(std::string("\x00\x00\x00\x00\x00\x00\xf8\x3f", 8));
  c->set_open_existing(true);
  all[2].mutable_attach()->set_name("temperature");
  all[2].mutable_attach()->set_read_only(true);
  all[3].mutable_detach()->set_id(std::numeric_limits<std::uint64_t>::max());
  all[4].mutable_remove()->set_name("a.b_c-9");
  all[5].mutable_list()->set_after_name("m");
  all[5].mutable_list()->set_after_id(17);
  all[5].mutable_list()->set_limit(500);
  all[6].mutable_info()->set_name("x");
  all[7].mutable_reattach()->set_id(99);
  all[7].mutable_reattach()->set_references(3);
  all[8].mutable_chmod()->set_name("x");
  all[8].mutable_chmod()->set_mode(0644);
  return all;
}

std::vector<shmd::v1::Response> one_response_of_each_kind() {
  std::vector<shmd::v1::Response> all(10);
  std::uint64_t id = 100;
  for (auto& r : all) r.set_request_id(id++);
  all[0].mutable_hello()->set_protocol_version(1);
  all[0].mutable_hello()->set_server_version("0.1.0");
  *all[1].mutable_create()->mutable_segment() = sample_info("c");
  all[1].mutable_create()->set_created(true);
  *all[2].mutable_attach()->mutable_segment() = sample_info("a");
  all[3].mutable_detach()->set_refcount(7);
  all[4].mutable_remove()->set_freed(true);
  for (int i = 0; i < 3; ++i) *all[5].mutable_list()->add_segments() = sample_info("l" + std::to_string(i));
  all[5].mutable_list()->set_more(true);
  *all[6].mutable_info()->mutable_segment() = sample_info("i");
  *all[7].mutable_reattach()->mutable_segment() = sample_info("r");
  *all[8].mutable_chmod()->mutable_segment() = sample_info("m");
  all[9].mutable_error()->set_code(shmd::v1::LIMIT_EXCEEDED);
  all[9].mutable_error()->set_message("--max-segments is 3");
  return all;
}

/// Frames every message into one stream, decodes it, and parses each payload back.
template <class Message>
void expect_round_trip(const std::vector<Message>& messages) {
  std::string stream;
  for (const auto& m : messages) append_frame(stream, m.SerializeAsString());
  FrameDecoder d;
  d.feed(stream);
  const auto payloads = drain(d);
  ASSERT_EQ(payloads.size(), messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    Message back;
    ASSERT_TRUE(back.ParseFromString(payloads[i]));
    EXPECT_TRUE(MessageDifferencer::Equals(back, messages[i])) << back.ShortDebugString();
    if constexpr (std::is_same_v<Message, shmd::v1::Response>) {
      EXPECT_EQ(back.has_error(), messages[i].has_error());
    }
  }
}

TEST(Protocol, TheTestCoversEveryRequestAndResponseKind) {
  // A new operation in shmd.proto must show up here, and then in the round trips below.
  ASSERT_EQ(shmd::v1::Request::descriptor()->oneof_decl_count(), 1);
  ASSERT_EQ(shmd::v1::Response::descriptor()->oneof_decl_count(), 1);
  EXPECT_EQ(static_cast<std::size_t>(shmd::v1::Request::descriptor()->oneof_decl(0)->field_count()),
            one_request_of_each_kind().size());
  EXPECT_EQ(static_cast<std::size_t>(shmd::v1::Response::descriptor()->oneof_decl(0)->field_count()) + 1,
            one_response_of_each_kind().size());  // + the error-only response
  std::set<int> request_cases;
  for (const auto& r : one_request_of_each_kind()) request_cases.insert(r.body_case());
  EXPECT_EQ(request_cases.size(), one_request_of_each_kind().size());
  EXPECT_FALSE(request_cases.contains(shmd::v1::Request::BODY_NOT_SET));
}

TEST(Protocol, EveryRequestRoundTripsThroughFraming) { expect_round_trip(one_request_of_each_kind()); }

TEST(Protocol, EveryResponseRoundTripsThroughFraming) { expect_round_trip(one_response_of_each_kind()); }

TEST(Protocol, RequestsRoundTripOneByteAtATime) {
  const auto requests = one_request_of_each_kind();
  std::string stream;
  for (const auto& r : requests) append_frame(stream, r.SerializeAsString());
  FrameDecoder d;
  std::vector<std::string> payloads;
  for (const char c : stream) {
    d.feed(std::string_view(&c, 1));
    for (auto& p : drain(d)) payloads.push_back(std::move(p));
  }
  ASSERT_EQ(payloads.size(), requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    shmd::v1::Request back;
    ASSERT_TRUE(back.ParseFromString(payloads[i]));
    EXPECT_EQ(back.body_case(), requests[i].body_case());
    EXPECT_TRUE(MessageDifferencer::Equals(back, requests[i]));
  }
}

TEST(Protocol, FramingIsByteIdenticalToProtobufDelimitedForm) {
  for (const auto& r : one_request_of_each_kind()) {
    std::string theirs;
    {
      google::protobuf::io::StringOutputStream out(&theirs);
      ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(r, &out));
    }
    EXPECT_EQ(frame(r.SerializeAsString()), theirs);
  }
}

TEST(Protocol, ProtobufParsesOurFrames) {
  std::string stream;
  for (const auto& r : one_response_of_each_kind()) append_frame(stream, r.SerializeAsString());
  google::protobuf::io::ArrayInputStream in(stream.data(), static_cast<int>(stream.size()));
  for (const auto& expected : one_response_of_each_kind()) {
    shmd::v1::Response back;
    bool clean_eof = false;
    ASSERT_TRUE(google::protobuf::util::ParseDelimitedFromZeroCopyStream(&back, &in, &clean_eof));
    EXPECT_TRUE(MessageDifferencer::Equals(back, expected));
  }
}

TEST(Protocol, FullListPageFitsInOneFrame) {
  // A daemon filling a ListResponse must stop before the frame limit; this shows how many
  // segments with 255-character names fit, so a page size can be chosen from it.
  shmd::v1::ListResponse page;
  const auto one = sample_info(std::string(255, 'n'));
  std::size_t fitted = 0;
  for (;;) {
    *page.add_segments() = one;
    if (page.ByteSizeLong() > kMaxFrameBytes) break;
    ++fitted;
  }
  EXPECT_GT(fitted, 100U);
}

TEST(Protocol, GarbageDoesNotParseAsARequest) {
  shmd::v1::Request r;
  EXPECT_FALSE(r.ParseFromString(std::string("\x00\x01\x02", 3)));      // field number 0
  EXPECT_FALSE(r.ParseFromString(std::string("\x0f", 1)));              // wire type 7
  EXPECT_FALSE(r.ParseFromString(std::string("\x5a\x10" "abc", 5)));    // create, truncated
}

// ---------------------------------------------------------------------------------------------
// Names, sizes, typecodes

TEST(SegmentName, AcceptsTheAllowedAlphabet) {
  EXPECT_EQ(shm::check_segment_name("a"), "");
  EXPECT_EQ(shm::check_segment_name("Temperature_01.sensor-b"), "");
  EXPECT_EQ(shm::check_segment_name("..."), "");
  EXPECT_EQ(shm::check_segment_name(std::string(shm::kMaxNameLength, 'x')), "");
}

TEST(SegmentName, RefusesEmptyTooLongAndForeignCharacters) {
  EXPECT_NE(shm::check_segment_name(""), "");
  EXPECT_NE(shm::check_segment_name(std::string(shm::kMaxNameLength + 1, 'x')), "");
  for (const std::string bad : {"a/b", "a b", "a:b", "na\xc3\xafve", "tab\t", "star*", "new\nline"})
    EXPECT_NE(shm::check_segment_name(bad), "") << bad;
  EXPECT_NE(shm::check_segment_name(std::string("nul\0byte", 8)), "");
}

TEST(SegmentName, HonoursAConfiguredMaximum) {
  EXPECT_EQ(shm::check_segment_name("12345678", 8), "");
  const std::string why = shm::check_segment_name("123456789", 8);
  EXPECT_NE(why, "");
  EXPECT_NE(why.find('8'), std::string::npos) << "the message should name the limit: " << why;
}

TEST(SegmentSizes, DataStartsAfterAnAlignedHeader) {
  EXPECT_EQ(shm::kDataOffset % shm::kSegmentAlignment, 0U);
  EXPECT_GE(shm::kDataOffset, sizeof(shm::SegmentHeader));
  const auto s = shm::segment_sizes(8, 1000);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data_bytes, 8000U);
  EXPECT_EQ(s->mapping_bytes, 8000U + shm::kDataOffset);
}

TEST(SegmentSizes, RefusesZeroElementSizeAndOverflow) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  EXPECT_FALSE(shm::segment_sizes(0, 1));
  EXPECT_FALSE(shm::segment_sizes(8, max));
  EXPECT_FALSE(shm::segment_sizes(max, 2));
  EXPECT_FALSE(shm::segment_sizes(1, max));  // the header pushes it over
  const std::uint64_t largest = (max - shm::kDataOffset) / 8;
  const auto edge = shm::segment_sizes(8, largest);
  ASSERT_TRUE(edge);
  EXPECT_LE(edge->mapping_bytes, max);
  EXPECT_FALSE(shm::segment_sizes(8, largest + 1));
  static_assert(shm::segment_sizes(4, 1)->mapping_bytes == shm::kDataOffset + 4);
}

TEST(Typecode, TableHasPythonsThirteenCodesWithLp64Sizes) {
  const std::string codes = "cbBhHiIlLqQfd";
  ASSERT_EQ(std::size(shm::kTypeCodes), codes.size());
  for (const char c : codes) EXPECT_TRUE(shm::type_info(c)) << c;
  for (const char c : std::string("xuwe?zs\0", 8)) EXPECT_FALSE(shm::type_info(c)) << c;
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

// ---------------------------------------------------------------------------------------------
// RAII wrappers

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

shm::UniqueFd memfd(std::size_t size) {
  shm::UniqueFd fd(::memfd_create("shm-unit-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fd.reset();
  return fd;
}

TEST(UniqueFd, ClosesOnDestructionAndMovesOwnership) {
  int raw = -1;
  {
    shm::UniqueFd a = memfd(16);
    ASSERT_TRUE(a);
    raw = a.get();
    shm::UniqueFd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(a.get(), -1);
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(fd_is_open(raw));
  }
  EXPECT_FALSE(fd_is_open(raw));
}

TEST(UniqueFd, MoveAssignmentClosesWhatWasHeld) {
  shm::UniqueFd a = memfd(16);
  shm::UniqueFd b = memfd(16);
  const int old_a = a.get();
  const int old_b = b.get();
  a = std::move(b);
  EXPECT_FALSE(fd_is_open(old_a));
  EXPECT_EQ(a.get(), old_b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
}

TEST(UniqueFd, ReleaseGivesUpOwnershipAndResetCloses) {
  shm::UniqueFd a = memfd(16);
  const int raw = a.release();
  EXPECT_FALSE(a);
  EXPECT_TRUE(fd_is_open(raw));
  a.reset(raw);
  EXPECT_EQ(a.get(), raw);
  a.reset();
  EXPECT_FALSE(fd_is_open(raw));
  EXPECT_FALSE(a);
}

/// True while [p, p+size) is mapped in this process.
bool is_mapped(std::byte* p, std::size_t size) { return ::msync(p, size, MS_ASYNC) == 0; }

TEST(Mapping, MapsSharedAndUnmapsOnDestruction) {
  const auto fd = memfd(4096);
  std::error_code ec;
  std::byte* p = nullptr;
  {
    auto m = shm::Mapping::map(fd.get(), 4096, shm::Mapping::Access::read_write, ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(m);
    EXPECT_EQ(m.size(), 4096U);
    p = m.data();
    m.bytes()[100] = std::byte{0x5a};
    // A second mapping of the same fd sees the write: MAP_SHARED.
    auto other = shm::Mapping::map(fd.get(), 4096, shm::Mapping::Access::read_only, ec);
    ASSERT_TRUE(other);
    EXPECT_EQ(other.bytes()[100], std::byte{0x5a});
    EXPECT_TRUE(is_mapped(p, 4096));
  }
  EXPECT_FALSE(is_mapped(p, 4096));
}

TEST(Mapping, MoveTransfersAndAssignmentUnmapsTheOld) {
  const auto fd = memfd(8192);
  std::error_code ec;
  auto a = shm::Mapping::map(fd.get(), 4096, shm::Mapping::Access::read_write, ec);
  auto b = shm::Mapping::map(fd.get(), 8192, shm::Mapping::Access::read_write, ec);
  ASSERT_TRUE(a && b);
  std::byte* const pa = a.data();
  std::byte* const pb = b.data();
  shm::Mapping c(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0U);
  EXPECT_EQ(c.data(), pa);
  c = std::move(b);
  EXPECT_FALSE(is_mapped(pa, 4096));
  EXPECT_EQ(c.data(), pb);
  EXPECT_EQ(c.size(), 8192U);
  c.reset();
  EXPECT_FALSE(c);
  EXPECT_FALSE(is_mapped(pb, 8192));
}

TEST(Mapping, ReportsFailureWithoutThrowing) {
  std::error_code ec;
  const auto m = shm::Mapping::map(-1, 4096, shm::Mapping::Access::read_write, ec);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(m);
}

TEST(FdPassing, SendsADescriptorWithTheBytes) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const shm::UniqueFd a(sv[0]);
  const shm::UniqueFd b(sv[1]);
  const auto fd = memfd(64);
  const std::string msg = "hello";
  std::error_code ec;
  EXPECT_EQ(shm::wire::send_with_fd(a.get(), std::as_bytes(std::span(msg.data(), msg.size())), fd.get(), ec),
            msg.size());
  ASSERT_FALSE(ec);
  std::array<std::byte, 64> buf{};
  std::vector<shm::UniqueFd> fds;
  EXPECT_EQ(shm::wire::recv_with_fds(b.get(), buf, fds, ec), msg.size());
  ASSERT_EQ(fds.size(), 1U);
  struct stat s1{}, s2{};
  ASSERT_EQ(::fstat(fd.get(), &s1), 0);
  ASSERT_EQ(::fstat(fds[0].get(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  EXPECT_EQ(::fcntl(fds[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

// ---------------------------------------------------------------------------------------------
// The robust mutex, across real processes

/// A process-shared mutex in an anonymous MAP_SHARED mapping, so fork()ed children share it.
class SharedMutex {
 public:
  SharedMutex() {
    void* p = ::mmap(nullptr, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) mutex_ = static_cast<pthread_mutex_t*>(p);
  }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;
  ~SharedMutex() {
    if (mutex_ != nullptr) ::munmap(mutex_, sizeof(pthread_mutex_t));
  }
  pthread_mutex_t& get() { return *mutex_; }
  explicit operator bool() const { return mutex_ != nullptr; }

 private:
  pthread_mutex_t* mutex_ = nullptr;  ///< the shared mutex
};

/// Forks a child that locks `m` and exits (without unlocking) as soon as `release` reaches EOF.
/// Returns after the child holds the lock.
pid_t fork_lock_holder(pthread_mutex_t& m, int& release_write) {
  int hold[2];
  int ready[2];
  if (::pipe(hold) != 0 || ::pipe(ready) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(hold[1]);
    ::close(ready[0]);
    std::error_code ec;
    const auto state = shm::lock_robust_mutex(m, ec);
    const char c = (ec || state == shm::LockState::busy) ? 'E' : 'L';
    if (::write(ready[1], &c, 1) != 1) ::_exit(3);
    char ignored;
    while (::read(hold[0], &ignored, 1) > 0) {
    }
    ::_exit(0);  // dies holding the lock
  }
  ::close(hold[0]);
  ::close(ready[1]);
  char c = '?';
  const bool ok = ::read(ready[0], &c, 1) == 1 && c == 'L';
  ::close(ready[0]);
  release_write = hold[1];
  return ok ? pid : -pid;
}

TEST(RobustMutex, RecoversFromAnOwnerThatDiedHoldingIt) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::error_code ec;
    const auto state = shm::lock_robust_mutex(shared.get(), ec);
    ::_exit(!ec && state == shm::LockState::acquired ? 0 : 1);  // exits holding the lock
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  std::error_code ec;
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::owner_died);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));

  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
}

TEST(RobustMutex, TryLockSeesABusyLockThenRecoversItWhenTheHolderDies) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));
  int release = -1;
  const pid_t child = fork_lock_holder(shared.get(), release);
  ASSERT_GT(child, 0) << "the child could not take the lock";

  std::error_code ec;
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::busy);
  EXPECT_FALSE(ec);

  ::close(release);  // the child exits still holding the lock
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::owner_died);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
}

TEST(RobustMutex, IsRecursiveLikePythonsRLock) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));
  std::error_code ec;
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));

  // Fully released: another process can take it at once.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::error_code cec;
    const auto state = shm::try_lock_robust_mutex(shared.get(), cec);
    ::_exit(state == shm::LockState::acquired && !cec ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
