// List and Info against a real shmd: many segments in order with their types, and the creator
// and mode Info records.

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "daemon_process.hpp"
#include "raw_client.hpp"
#include "shm/shm.hpp"
#include "shm/wire/framing.hpp"

namespace {

using namespace std::chrono_literals;
using shm::test::DaemonProcess;
using shm::test::RawClient;

TEST(Listing, TenThousandSegmentsListSortedWithTheirTypes) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  constexpr std::size_t kCount = 10'000;
  const auto name_of = [](std::size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "seg-%05zu", i);
    return std::string(buf);
  };
  const auto code_of = [](std::size_t i) { return shm::kTypeCodes[i % std::size(shm::kTypeCodes)]; };
  const auto length_of = [](std::size_t i) -> std::uint64_t { return i % 2 == 0 ? 1 : i % 7 + 1; };

  // Created out of order (7919 is prime, so this visits every index once).
  for (std::size_t k = 0; k < kCount; ++k) {
    const std::size_t i = k * 7919 % kCount;
    shm::SegmentSpec spec;
    spec.typecode = code_of(i).code;
    spec.kind = i % 2 == 0 ? shm::Kind::value : shm::Kind::array;
    spec.length = length_of(i);
    std::error_code ec;
    client.create(name_of(i), spec, ec);  // the handle goes at once: persistent segments stay
    ASSERT_FALSE(ec) << name_of(i) << ": " << ec.message() << " " << shm::last_error_message();
  }

  const auto all = client.list();
  ASSERT_EQ(all.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    const auto& s = all[i];
    ASSERT_EQ(s.name, name_of(i));
    EXPECT_EQ(s.typecode, code_of(i).code) << s.name;
    EXPECT_EQ(s.kind, i % 2 == 0 ? shm::Kind::value : shm::Kind::array) << s.name;
    EXPECT_EQ(s.length, length_of(i)) << s.name;
    EXPECT_EQ(s.element_size, code_of(i).size) << s.name;
    EXPECT_EQ(s.size_bytes, s.length * s.element_size) << s.name;
    EXPECT_EQ(s.refcount, 0U) << s.name;
  }

  // On the wire: pages that each fit in one frame (RawClient refuses bigger ones), in order.
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  std::string after_name;
  std::uint64_t after_id = 0;
  std::size_t seen = 0;
  std::size_t pages = 0;
  for (bool more = true; more; ++pages) {
    ASSERT_LT(pages, kCount) << "list never ends";
    shmd::v1::Request r;
    r.mutable_list()->set_after_name(after_name);
    r.mutable_list()->set_after_id(after_id);
    const auto reply = raw.call(r);
    ASSERT_TRUE(reply);
    ASSERT_FALSE(reply->first.has_error()) << reply->first.error().message();
    const auto& page = reply->first.list();
    for (const auto& s : page.segments()) {
      ASSERT_LT(seen, kCount);
      EXPECT_EQ(s.name(), name_of(seen));
      ++seen;
    }
    EXPECT_LE(reply->first.ByteSizeLong(), shm::wire::kMaxFrameBytes);
    more = page.more();
    if (more) {
      ASSERT_GT(page.segments_size(), 0) << "a page that promises more must not be empty";
      after_name = page.segments(page.segments_size() - 1).name();
      after_id = page.segments(page.segments_size() - 1).id();
    }
  }
  EXPECT_EQ(seen, kCount);

  shmd::v1::Request small;
  small.mutable_list()->set_limit(7);
  small.mutable_list()->set_after_name(name_of(100));
  small.mutable_list()->set_after_id(std::numeric_limits<std::uint64_t>::max());
  const auto page = raw.call(small);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->first.list().segments_size(), 7);
  EXPECT_EQ(page->first.list().segments(0).name(), name_of(101));
  EXPECT_TRUE(page->first.list().more());
}

TEST(Listing, InfoRecordsCreatorAndMode) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  const auto before = std::chrono::system_clock::now();
  auto v = client.create_value<long>("owned");
  shm::CreateOptions shared;
  shared.mode = 0640;
  auto w = client.create_array<float>("shared", 5, shared);
  const auto info = client.info("owned");
  EXPECT_EQ(info.uid, ::getuid());
  EXPECT_EQ(info.gid, ::getgid());
  EXPECT_EQ(info.creator_pid, ::getpid());
  EXPECT_EQ(info.mode, 0600U);
  EXPECT_EQ(info.typecode, 'l');
  EXPECT_EQ(info.kind, shm::Kind::value);
  EXPECT_FALSE(info.ephemeral);
  EXPECT_FALSE(info.removed);
  EXPECT_GE(info.created, before - 5s);
  EXPECT_LE(info.created, std::chrono::system_clock::now() + 5s);
  const auto winfo = client.info("shared");
  EXPECT_EQ(winfo.mode, 0640U);
  EXPECT_EQ(winfo.length, 5U);
  EXPECT_EQ(winfo.size_bytes, 20U);
  EXPECT_NE(winfo.id, info.id);
}

}  // namespace
