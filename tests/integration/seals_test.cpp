// What a client receives from a real shmd: a sealed memfd that cannot be resized, laid out as
// shm/segment_layout.hpp documents, and the layout version Hello reports and the client checks.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "raw_client.hpp"
#include "requests.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::Errc;
using shm::test::attach_request;
using shm::test::DaemonProcess;
using shm::test::RawClient;
namespace pb = shmd::v1;

// ---------------------------------------------------------------------------------------------
// Seals

TEST(Seals, ReceivedFdCannotBeResizedAndIsSealed) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<double>("sealed", 9.5);

  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  auto reply = raw.call(attach_request("sealed"));
  ASSERT_TRUE(reply);
  ASSERT_FALSE(reply->first.has_error()) << reply->first.ShortDebugString();
  ASSERT_TRUE(reply->first.has_attach());
  ASSERT_EQ(reply->second.size(), 1U) << "an attach reply carries exactly one fd";
  const int fd = reply->second[0].get();
  const auto& info = reply->first.attach().segment();

  const int seals = ::fcntl(fd, F_GET_SEALS);
  ASSERT_NE(seals, -1) << std::strerror(errno);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), info.mapping_bytes());
  EXPECT_GE(info.mapping_bytes(), info.data_offset() + info.size_bytes());
  EXPECT_EQ(info.mapping_bytes(), sizeof(shm::SegmentHeader)) << "a Value's element lives in its header";

  EXPECT_EQ(::ftruncate(fd, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(fd, st.st_size - 1), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(fd, st.st_size * 4), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fallocate(fd, 0, 0, st.st_size * 4), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1) << "F_SEAL_SEAL must forbid new seals";
  EXPECT_EQ(errno, EPERM);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), info.mapping_bytes());

  // The header the daemon wrote agrees with its reply, and the data is the client's value.
  std::error_code ec;
  const auto map = shm::Mapping::map(fd, info.mapping_bytes(), shm::AccessMode::read_only, ec);
  ASSERT_FALSE(ec) << ec.message();
  shm::SegmentHeader header;
  std::memcpy(&header, map.data(), sizeof header);
  EXPECT_EQ(header.magic, shm::kSegmentMagic);
  EXPECT_EQ(header.layout_version, shm::kLayoutVersion);
  EXPECT_EQ(std::string(1, header.typecode), info.typecode());
  EXPECT_EQ(header.length, info.length());
  EXPECT_EQ(header.element_size, info.element_size());
  EXPECT_EQ(header.data_offset, info.data_offset());
  EXPECT_EQ(info.data_offset() % shm::kSegmentAlignment, 0U);
  double value = 0;
  std::memcpy(&value, map.data() + info.data_offset(), sizeof value);
  EXPECT_EQ(value, 9.5);
  EXPECT_EQ(v.load(), 9.5);  // and the client's own mapping survived all of that
}

TEST(Seals, SegmentBytesAreExactlyTheDocumentedLayout) {
  // proto/README.md's layout table, byte by byte, with its literal offsets: the table is the
  // contract a client in another language codes against, not segment_layout.hpp.
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  auto create = [&](const std::string& name, const std::string& typecode, pb::Kind kind, std::uint64_t length,
                    std::string initial) {
    pb::Request r;
    auto* c = r.mutable_create();
    c->set_name(name);
    c->set_typecode(typecode);
    c->set_kind(kind);
    c->set_length(length);
    c->set_initial(std::move(initial));
    return raw.call(r);
  };
  auto u64 = [](const std::vector<unsigned char>& b, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | b[at + static_cast<std::size_t>(i)];
    return v;
  };
  auto u32 = [](const std::vector<unsigned char>& b, std::size_t at) {
    return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
           std::uint32_t{b[at + 3]} << 24;
  };
  auto zero = [](const std::vector<unsigned char>& b, std::size_t from, std::size_t to) {
    return std::all_of(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(to),
                       [](unsigned char c) { return c == 0; });
  };
  // The mutex as created: all zero but __kind (offset 16 in it, 88 in the segment) = 0x91.
  auto fresh_mutex = [&](const std::vector<unsigned char>& b) {
    return zero(b, 72, 88) && b[88] == 0x91 && zero(b, 89, 112);
  };

  // A Value smaller than its 8-byte slot: 'h' = 0x1234 at 64..65, the rest of the slot zero.
  const auto value = create("short", "h", pb::VALUE, 1, std::string("\x34\x12", 2));
  ASSERT_TRUE(value && !value->first.has_error()) << (value ? value->first.ShortDebugString() : "");
  ASSERT_EQ(value->second.size(), 1u);
  const auto& vi = value->first.create().segment();
  EXPECT_EQ(vi.data_offset(), 64u);
  EXPECT_EQ(vi.mapping_bytes(), 128u) << "a Value's memfd is its header, whatever data_offset + size_bytes is";
  std::vector<unsigned char> b(256, 0xee);
  ASSERT_EQ(::pread(value->second[0].get(), b.data(), b.size(), 0), 128) << "the memfd is exactly 128 bytes";
  b.resize(128);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), std::string("SHMDSEG\0", 8));
  EXPECT_EQ(u64(b, 0), 0x0047455344'4d4853ULL);
  EXPECT_EQ(u32(b, 8), 4u) << "layout version";
  EXPECT_EQ(b[12], 0x68) << "typecode 'h' as its ASCII byte";
  EXPECT_EQ(b[13], 1) << "kind Value";
  EXPECT_TRUE(zero(b, 14, 16));
  EXPECT_EQ(u32(b, 16), 2u) << "element size";
  EXPECT_TRUE(zero(b, 20, 24));
  EXPECT_EQ(u64(b, 24), 1u) << "length";
  EXPECT_EQ(u64(b, 32), 64u) << "data offset";
  EXPECT_EQ(u32(b, 40), 0u) << "the change word: nobody has watched or changed it yet";
  EXPECT_EQ(u32(b, 44), 0u) << "the flags: not removed";
  EXPECT_TRUE(zero(b, 48, 64));
  EXPECT_EQ(b[64], 0x34);
  EXPECT_EQ(b[65], 0x12);
  EXPECT_TRUE(zero(b, 66, 72)) << "the rest of the Value's slot";
  EXPECT_TRUE(fresh_mutex(b));
  EXPECT_TRUE(zero(b, 112, 128));

  // Watch sets bit 0 of the change word; Remove sets bit 0 of the flags and adds 2 to the word
  // (the count, bits 1..31, moves; bit 0 stays as it was).
  pb::Request watch;
  watch.mutable_watch()->set_id(vi.id());
  const auto watched = raw.call(watch);
  ASSERT_TRUE(watched && watched->first.has_watch()) << (watched ? watched->first.ShortDebugString() : "");
  EXPECT_EQ(watched->first.watch().changes(), 1u);
  ASSERT_EQ(::pread(value->second[0].get(), b.data(), b.size(), 0), 128);
  EXPECT_EQ(u32(b, 40), 1u);
  pb::Request remove;
  remove.mutable_remove()->set_name("short");
  ASSERT_TRUE(raw.call(remove));
  ASSERT_EQ(::pread(value->second[0].get(), b.data(), b.size(), 0), 128);
  EXPECT_EQ(u32(b, 40), 3u) << "count 1, still watched";
  EXPECT_EQ(u32(b, 44), 1u) << "removed";
  EXPECT_TRUE(zero(b, 48, 64) && zero(b, 112, 128)) << "nothing else written";

  // An Array: elements from 128, its memfd 128 + size_bytes, the Value slot zero.
  const auto arr = create("ints", "i", pb::ARRAY, 3, std::string("\x01\0\0\0\x02\0\0\0\xff\xff\xff\xff", 12));
  ASSERT_TRUE(arr && !arr->first.has_error());
  ASSERT_EQ(arr->second.size(), 1u);
  const auto& ai = arr->first.create().segment();
  EXPECT_EQ(ai.data_offset(), 128u);
  EXPECT_EQ(ai.mapping_bytes(), 128u + 12u);
  b.assign(256, 0xee);
  ASSERT_EQ(::pread(arr->second[0].get(), b.data(), b.size(), 0), 140);
  b.resize(140);
  EXPECT_EQ(b[12], 'i');
  EXPECT_EQ(b[13], 2) << "kind Array";
  EXPECT_EQ(u32(b, 16), 4u);
  EXPECT_EQ(u64(b, 24), 3u);
  EXPECT_EQ(u64(b, 32), 128u);
  EXPECT_TRUE(zero(b, 64, 72)) << "an Array's Value slot";
  EXPECT_TRUE(fresh_mutex(b));
  EXPECT_EQ(u32(b, 128), 1u);
  EXPECT_EQ(u32(b, 132), 2u);
  EXPECT_EQ(u32(b, 136), 0xffffffffu) << "-1, two's complement little-endian";
}

// ---------------------------------------------------------------------------------------------
// The segment layout version

TEST(Seals, HelloReportsTheSegmentLayout) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  shmd::v1::Request hello;
  hello.mutable_hello()->set_protocol_version(1);
  const auto reply = raw.call(hello);
  ASSERT_TRUE(reply && reply->first.has_hello());
  EXPECT_EQ(reply->first.hello().segment_layout(), shm::kLayoutVersion);
}

TEST(Seals, ClientRefusesADaemonThatWritesAnotherSegmentLayout) {
  // A stand-in daemon that answers Hello like a layout-1 shmd (which did not report a layout).
  const auto dir = std::filesystem::temp_directory_path() / ("shmd-layout-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "old.sock").string();
  shm::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  std::thread old_daemon([&] {
    shm::UniqueFd peer(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    shm::wire::FrameDecoder decoder(shm::wire::kMaxFrameBytes);
    std::string payload;
    std::array<char, 4096> buffer{};
    while (!decoder.next(payload)) {
      const ssize_t n = ::read(peer.get(), buffer.data(), buffer.size());
      if (n <= 0) return;
      decoder.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
    shmd::v1::Request request;
    request.ParseFromString(payload);
    shmd::v1::Response response;
    response.set_request_id(request.request_id());
    response.mutable_hello()->set_protocol_version(1);
    std::string frame;
    shm::wire::append_frame(frame, response.SerializeAsString());
    (void)::write(peer.get(), frame.data(), frame.size());
    char drain;
    while (::read(peer.get(), &drain, 1) > 0) {
    }
  });
  std::error_code ec;
  shm::Client client(path, ec);
  EXPECT_EQ(ec, Errc::version_mismatch);
  EXPECT_NE(shm::last_error_message().find("segment layout 1"), std::string::npos) << shm::last_error_message();
  old_daemon.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
