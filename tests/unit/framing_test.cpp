// Varint framing and protobuf round trips of every message, with no daemon running.

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "shm/segment_layout.hpp"
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
  for (const std::uint64_t v : std::initializer_list<std::uint64_t>{
           0, 1, 127, 128, 16383, 16384, 65536, 65537, (1ULL << 35) + 3, std::numeric_limits<std::uint64_t>::max()}) {
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
  EXPECT_EQ(frame("abc"),
            "\x03"
            "abc");
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

TEST(Framing, TenthPrefixByteAboveOneIsTooLargeInsteadOfWrapping) {
  // 2 << 63 wraps to 0 in 64 bits: read naively, this prefix would announce an empty frame.
  FrameDecoder d;
  d.feed(std::string(9, '\x80') + '\x02');
  std::string payload;
  EXPECT_FALSE(d.next(payload));
  EXPECT_EQ(d.error(), FrameError::frame_too_large);
}

TEST(Framing, AcceptsPaddedPrefixesUpToTenBytes) {
  // Redundant continuation bytes (value bits zero) are a valid varint: protobuf reads them too.
  for (std::size_t pad = 0; pad <= 8; ++pad) {
    SCOPED_TRACE(pad);
    FrameDecoder d;
    std::string prefix = "\x85";
    prefix += std::string(pad, '\x80');
    prefix += '\x00';  // 2..10 bytes in all, value 5
    d.feed(prefix + "hello" + frame("next"));
    std::string payload;
    ASSERT_TRUE(d.next(payload));
    EXPECT_EQ(payload, "hello");
    ASSERT_TRUE(d.next(payload));
    EXPECT_EQ(payload, "next");
    EXPECT_EQ(d.error(), FrameError::none);
  }
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
  const std::vector<std::string> payloads = {
      "", "a", std::string(127, 'b'), std::string(128, 'c'), std::string(16384, 'd'), "end"};
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
  s.set_data_offset(shm::kArrayDataOffset);
  s.set_size_bytes(8000);
  s.set_mapping_bytes(8000 + shm::kArrayDataOffset);
  s.set_refcount(3);
  s.set_uid(1000);
  s.set_gid(1000);
  s.set_creator_pid(12345);
  s.set_mode(0640);
  s.set_ephemeral(true);
  s.set_created_unix_ns(1'700'000'000'123'456'789);
  s.set_removed(true);
  s.set_holds(2);
  return s;
}

std::vector<shmd::v1::Request> one_request_of_each_kind() {
  std::vector<shmd::v1::Request> all(12);
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
  all[2].mutable_attach()->set_claim(0x8000'0000'0000'0001ULL);
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
  all[9].mutable_hold()->set_id(99);
  all[9].mutable_hold()->set_seconds(600);
  all[10].mutable_watch()->set_id(std::numeric_limits<std::uint64_t>::max());
  all[11].mutable_subscribe()->set_prefix("job.");
  all[11].mutable_subscribe()->set_attachments(true);
  return all;
}

std::vector<shmd::v1::Response> one_response_of_each_kind() {
  std::vector<shmd::v1::Response> all(14);
  std::uint64_t id = 100;
  for (auto& r : all) r.set_request_id(id++);
  all[0].mutable_hello()->set_protocol_version(1);
  all[0].mutable_hello()->set_server_version("0.1.0");
  *all[1].mutable_create()->mutable_segment() = sample_info("c");
  all[1].mutable_create()->set_created(true);
  *all[2].mutable_attach()->mutable_segment() = sample_info("a");
  all[2].mutable_attach()->set_claimed(true);
  all[3].mutable_detach()->set_refcount(7);
  all[4].mutable_remove()->set_freed(true);
  for (int i = 0; i < 3; ++i) *all[5].mutable_list()->add_segments() = sample_info("l" + std::to_string(i));
  all[5].mutable_list()->set_more(true);
  *all[6].mutable_info()->mutable_segment() = sample_info("i");
  *all[7].mutable_reattach()->mutable_segment() = sample_info("r");
  *all[8].mutable_chmod()->mutable_segment() = sample_info("m");
  all[9].mutable_hold()->set_token(std::numeric_limits<std::uint64_t>::max());
  all[9].mutable_hold()->set_seconds(30);
  *all[9].mutable_hold()->mutable_segment() = sample_info("h");
  all[10].mutable_watch()->set_changes(0xffffffffu);
  all[11].mutable_subscribe()->set_queue_limit(1024);
  all[12].mutable_event()->set_kind(shmd::v1::EVENT_MODE_CHANGED);
  *all[12].mutable_event()->mutable_segment() = sample_info("e");
  all[13].mutable_error()->set_code(shmd::v1::LIMIT_EXCEEDED);
  all[13].mutable_error()->set_message("--max-segments is 3");
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
  EXPECT_FALSE(r.ParseFromString(std::string("\x00\x01\x02", 3)));  // field number 0
  EXPECT_FALSE(r.ParseFromString(std::string("\x0f", 1)));          // wire type 7
  EXPECT_FALSE(
      r.ParseFromString(std::string("\x5a\x10"
                                    "abc",
                                    5)));  // create, truncated
}

}  // namespace
