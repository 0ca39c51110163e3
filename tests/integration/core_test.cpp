// The broker end to end: a real shmd on a per-test temporary socket, real client processes
// (shm-test-peer), and a raw protocol client for what libshmclient would never send.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "eventually.hpp"
#include "proc_task.hpp"
#include "daemon_process.hpp"
#include "raw_client.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::test::eventually;

using namespace std::chrono_literals;
using shm::Errc;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::RawClient;
using shm::test::run;
namespace pb = shmd::v1;

const std::string kPeer = SHM_TEST_PEER_BIN;

/// The segment's reference count, or -1 if the daemon does not know the name.
long refcount(shm::Client& client, std::string_view name) {
  std::error_code ec;
  const auto info = client.info(name, ec);
  return ec ? -1 : static_cast<long>(info.refcount);
}

/// True if `name` is not (or no longer) a segment name.
bool gone(shm::Client& client, std::string_view name) {
  std::error_code ec;
  client.info(name, ec);
  return ec == Errc::not_found;
}

/// A peer command line: shm-test-peer SOCKET args...
std::vector<std::string> peer(const DaemonProcess& daemon, std::vector<std::string> args) {
  args.insert(args.begin(), {kPeer, daemon.socket_path()});
  return args;
}

shmd::v1::Request attach_request(const std::string& name) {
  shmd::v1::Request r;
  r.mutable_attach()->set_name(name);
  return r;
}

/// The reply's error code, or ERROR_CODE_UNSPECIFIED if it carries none.
shmd::v1::ErrorCode error_of(const std::optional<RawClient::Reply>& reply) {
  return reply && reply->first.has_error() ? reply->first.error().code() : shmd::v1::ERROR_CODE_UNSPECIFIED;
}

// ---------------------------------------------------------------------------------------------
// Sharing between processes

TEST(Core, SeparateProcessSeesWritesInBothDirections) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<double>("shared.value", 1.25);

  ChildProcess other(peer(daemon, {"double-session", "shared.value"}));
  ASSERT_EQ(other.read_line(), "attached");
  other.write_line("get");
  EXPECT_EQ(other.read_line(), "1.25");

  v.store(2.5);  // this process writes, the other sees it
  other.write_line("get");
  EXPECT_EQ(other.read_line(), "2.5");

  other.write_line("set 3.75");  // the other writes, this process sees it
  ASSERT_EQ(other.read_line(), "ok");
  EXPECT_EQ(v.load(), 3.75);

  other.close_stdin();
  EXPECT_EQ(other.wait().exit_code, 0);

  // One-shot processes, attaching by name after the first one left.
  const auto wrote = run(peer(daemon, {"write-double", "shared.value", "-0.5"}));
  EXPECT_EQ(wrote.exit_code, 0) << wrote.err;
  EXPECT_EQ(v.load(), -0.5);
  v.store(6.0625);
  const auto read = run(peer(daemon, {"read-double", "shared.value"}));
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out, "6.0625\n");
}

TEST(Core, ArraySharedWithAnotherProcessIsTheSameMemory) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto mine = client.create_array<int>("squares", 10);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<int>(i * i);

  // Another process's handle to the same name sees the same bytes.
  shm::Client second(daemon.socket_path());
  auto theirs = second.attach_array<int>("squares");
  ASSERT_EQ(theirs.size(), 10U);
  EXPECT_TRUE(std::equal(mine.begin(), mine.end(), theirs.begin()));
  theirs[3] = -1;
  EXPECT_EQ(mine[3], -1);
}

TEST(Core, LockSerializesIncrementsAcrossProcesses) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto counter = client.create_value<int>("counter", 0);
  constexpr int kPerProcess = 20000;
  ChildProcess a(peer(daemon, {"add-int", "counter", std::to_string(kPerProcess)}));
  ChildProcess b(peer(daemon, {"add-int", "counter", std::to_string(kPerProcess)}));
  for (int i = 0; i < kPerProcess; ++i) {
    auto guard = counter.lock();
    ++counter.get();
  }
  EXPECT_EQ(a.read_line(), "done");
  EXPECT_EQ(b.read_line(), "done");
  EXPECT_EQ(a.wait().exit_code, 0);
  EXPECT_EQ(b.wait().exit_code, 0);
  EXPECT_EQ(counter.load(), 3 * kPerProcess);
}

// ---------------------------------------------------------------------------------------------
// Reference counting

TEST(Core, KilledClientDropsItsReferences) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("watched", 7);
  ASSERT_EQ(refcount(client, "watched"), 1);
  const std::size_t fds_before = daemon.open_fds();

  ChildProcess holder(peer(daemon, {"attach-and-wait", "watched"}));
  ASSERT_EQ(holder.read_line(), "attached");
  EXPECT_EQ(refcount(client, "watched"), 2);

  holder.kill(SIGKILL);
  const auto result = holder.wait();
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_TRUE(eventually([&] { return refcount(client, "watched") == 1; }))
      << "refcount stays at " << refcount(client, "watched") << " after the holder was killed";
  // Its connection is gone too: the daemon holds no more fds than before it came.
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() <= fds_before; }))
      << daemon.open_fds() << " fds open, " << fds_before << " before the peer connected";
  EXPECT_EQ(v.load(), 7);
}

TEST(Core, ClosedClientDropsEveryReferenceItHeld) {
  DaemonProcess daemon;
  shm::Client creator(daemon.socket_path());
  auto a = creator.create_value<int>("a");
  auto b = creator.create_array<double>("b", 4);
  {
    // A second connection attaches twice to one segment and once to the other, then goes away.
    shm::Client other(daemon.socket_path());
    auto a1 = other.attach("a");
    auto a2 = other.attach("a");
    auto b1 = other.attach("b");
    EXPECT_EQ(refcount(creator, "a"), 3);
    EXPECT_EQ(refcount(creator, "b"), 2);
  }
  EXPECT_TRUE(eventually([&] { return refcount(creator, "a") == 1 && refcount(creator, "b") == 1; }))
      << refcount(creator, "a") << " and " << refcount(creator, "b");
}

TEST(Core, DetachDropsOneReference) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("d");
  auto extra = client.attach("d");
  EXPECT_EQ(refcount(client, "d"), 2);
  extra.detach();
  EXPECT_FALSE(extra.valid());
  EXPECT_EQ(refcount(client, "d"), 1);
  extra.detach();  // idempotent
  EXPECT_EQ(refcount(client, "d"), 1);
  v.detach();
  EXPECT_EQ(refcount(client, "d"), 0);  // persistent: the segment stays without references
}

TEST(Core, DroppedHandleIsReleasedBeforeTheSameClientsNextRequest) {
  // Destroying a handle does not wait for the daemon, but its client's next request is answered
  // only after the release: no extra round trip, and no stale count for the dropping client.
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("dropped");
  for (int i = 0; i < 100; ++i) {
    { auto extra = client.attach_value<int>("dropped"); }
    ASSERT_EQ(refcount(client, "dropped"), 1) << "round " << i;
  }
  v = shm::Value<int>();  // move assignment releases too (`v = {}` would store 0: Value reads like an int)
  EXPECT_EQ(refcount(client, "dropped"), 0);
  // Other connections see it as soon as they ask after the daemon read it.
  shm::Client other(daemon.socket_path());
  EXPECT_TRUE(eventually([&] { return refcount(other, "dropped") == 0; }));
}

TEST(Core, CreateDetachedMakesASegmentWithoutAReference) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  const int init[] = {4, 5, 6};
  const shm::SegmentSpec spec{'i', shm::Kind::array, 3, std::as_bytes(std::span(init)), {}};
  const auto info = client.create_detached("admin.made", spec);
  EXPECT_EQ(info.refcount, 0u);
  EXPECT_EQ(info.length, 3u);
  EXPECT_EQ(refcount(client, "admin.made"), 0);
  auto a = client.attach_array<int>("admin.made");
  EXPECT_EQ(std::vector<int>(a.begin(), a.end()), (std::vector<int>{4, 5, 6}));

  std::error_code ec;
  client.create_detached("admin.made", spec, ec);
  EXPECT_EQ(ec, Errc::already_exists);
  shm::SegmentSpec reopen = spec;
  reopen.options.open_existing = true;
  EXPECT_EQ(client.create_detached("admin.made", reopen).refcount, 1u) << "only `a` holds it";
  reopen.length = 4;
  reopen.initial = {};
  client.create_detached("admin.made", reopen, ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  shm::SegmentSpec eph = spec;
  eph.options.ephemeral = true;
  client.create_detached("admin.eph", eph, ec);
  EXPECT_EQ(ec, Errc::invalid_argument);
  EXPECT_TRUE(gone(client, "admin.eph"));
}

TEST(Core, QuietDetachSendsNoReplyEvenWhenRefused) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("quiet");
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  pb::Request attach;
  attach.set_request_id(10);
  attach.mutable_attach()->set_name("quiet");
  const auto attached = raw.call(attach);
  ASSERT_TRUE(attached && !attached->first.has_error());
  const std::uint64_t id = attached->first.attach().segment().id();
  pb::Request quiet;
  quiet.mutable_detach()->set_id(id);
  quiet.mutable_detach()->set_no_reply(true);
  quiet.set_request_id(11);
  ASSERT_TRUE(raw.send_request(quiet));  // applied
  quiet.set_request_id(12);
  ASSERT_TRUE(raw.send_request(quiet));  // NOT_ATTACHED now, still silent
  pb::Request info;
  info.set_request_id(13);
  info.mutable_info()->set_name("quiet");
  const auto reply = raw.call(info);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->first.request_id(), 13u) << "the quiet detaches were answered: " << reply->first.ShortDebugString();
  EXPECT_EQ(reply->first.info().segment().refcount(), 1u) << "only the creator's reference is left";
}

// ---------------------------------------------------------------------------------------------
// Seals

TEST(Core, ReceivedFdCannotBeResizedAndIsSealed) {
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

  struct stat st{};
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
  const auto map = shm::Mapping::map(fd, info.mapping_bytes(), shm::Mapping::Access::read_only, ec);
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

TEST(Core, SegmentBytesAreExactlyTheDocumentedLayout) {
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
  EXPECT_EQ(u32(b, 8), 2u) << "layout version";
  EXPECT_EQ(b[12], 0x68) << "typecode 'h' as its ASCII byte";
  EXPECT_EQ(b[13], 1) << "kind Value";
  EXPECT_TRUE(zero(b, 14, 16));
  EXPECT_EQ(u32(b, 16), 2u) << "element size";
  EXPECT_TRUE(zero(b, 20, 24));
  EXPECT_EQ(u64(b, 24), 1u) << "length";
  EXPECT_EQ(u64(b, 32), 64u) << "data offset";
  EXPECT_TRUE(zero(b, 40, 64));
  EXPECT_EQ(b[64], 0x34);
  EXPECT_EQ(b[65], 0x12);
  EXPECT_TRUE(zero(b, 66, 72)) << "the rest of the Value's slot";
  EXPECT_TRUE(fresh_mutex(b));
  EXPECT_TRUE(zero(b, 112, 128));

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
// Owner died

TEST(Core, LockHeldByKilledProcessIsRecoveredWithOwnerDied) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("guarded", 1);

  ChildProcess holder(peer(daemon, {"lock-and-wait", "guarded"}));
  ASSERT_EQ(holder.read_line(), "locked");
  EXPECT_FALSE(v.segment().try_lock()) << "the peer holds the lock";
  holder.kill(SIGKILL);
  holder.wait();

  auto guard = v.lock();
  EXPECT_TRUE(guard.owns_lock());
  EXPECT_TRUE(guard.owner_died());
  v.get() = 2;  // usable after recovery
  guard.unlock();

  auto again = v.lock();
  EXPECT_TRUE(again.owns_lock());
  EXPECT_FALSE(again.owner_died());
  EXPECT_EQ(v.get(), 2);
}

TEST(Core, AnotherProcessRecoversALockFromAKilledHolderWithoutHanging) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_array<double>("guarded.array", 3);

  ChildProcess holder(peer(daemon, {"lock-and-wait", "guarded.array"}));
  ASSERT_EQ(holder.read_line(), "locked");
  holder.kill(SIGKILL);
  holder.wait();

  // read_line's timeout turns a hang into a failure; the peer is killed on destruction.
  ChildProcess recoverer(peer(daemon, {"lock-and-report", "guarded.array"}));
  EXPECT_EQ(recoverer.read_line(20s), "owner_died=1");
  EXPECT_EQ(recoverer.wait(30s).exit_code, 0);

  ChildProcess next(peer(daemon, {"lock-and-report", "guarded.array"}));
  EXPECT_EQ(next.read_line(20s), "owner_died=0");
  EXPECT_EQ(next.wait(30s).exit_code, 0);

  auto guard = v.lock();
  EXPECT_FALSE(guard.owner_died());
}

TEST(Core, AHandleDroppedWhileItsLockIsHeldStaysMappedUntilTheUnlock) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  shm::LockGuard guard;
  {
    auto v = client.create_value<int>("held", 1);
    guard = v.lock();
    ++v.get();
  }  // the handle goes while this thread holds its lock
  EXPECT_EQ(refcount(client, "held"), 1) << "the reference stays until the lock is released";

  // Segments mapped meanwhile (possibly where "held" was, had it been unmapped) lock and unlock
  // normally: this thread's robust list, which names the held mutex, is intact.
  auto other = client.create_value<int>("other", 0);
  for (int i = 0; i < 3; ++i) {
    auto g = other.lock();
    ++other.get();
  }
  EXPECT_EQ(other.load(), 3);

  guard.unlock();  // releases the lock, then unmaps the segment and drops the reference
  EXPECT_EQ(refcount(client, "held"), 0);
  ChildProcess next(peer(daemon, {"lock-and-report", "held"}));
  EXPECT_EQ(next.read_line(20s), "owner_died=0") << "released, not abandoned";
  EXPECT_EQ(next.wait(30s).exit_code, 0);
  EXPECT_EQ(client.attach_value<int>("held").load(), 2);
}

TEST(Core, DetachIsRefusedWhileThisThreadHoldsTheLock) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("busy");
  auto guard = v.lock();
  std::error_code ec;
  v.segment().detach(ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
  EXPECT_NE(shm::last_error_message().find("release the LockGuard"), std::string::npos) << shm::last_error_message();
  EXPECT_TRUE(v.segment().valid()) << "nothing changed";
  EXPECT_EQ(refcount(client, "busy"), 1);
  ++v.get();  // still mapped
  guard.unlock();
  v.segment().detach(ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(refcount(client, "busy"), 0);
}

TEST(Core, LockHeldByAProcessThatExitsNormallyIsNotReportedDead) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("released");
  ChildProcess holder(peer(daemon, {"lock-and-wait", "released"}));
  ASSERT_EQ(holder.read_line(), "locked");
  holder.close_stdin();  // the peer unlocks and exits
  EXPECT_EQ(holder.wait().exit_code, 0);
  auto guard = v.lock();
  EXPECT_FALSE(guard.owner_died());
}

/// Maps `fd` read-write, takes the mutex at offset 72 with glibc's own call, and returns the mapping.
char* map_and_lock(int fd) {
  void* p = ::mmap(nullptr, sizeof(shm::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  if (::pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(static_cast<char*>(p) + 72)) != 0) return nullptr;
  return static_cast<char*>(p);
}

TEST(Core, LockHeldByAProcessThatUnmapsTheSegmentIsNeverRecovered) {
  // The kernel finds a dead holder's robust mutexes through the mutexes themselves, at thread
  // exit: if the holder unmapped one first, that one, and those it had locked before it, stay
  // locked with a dead owner's id. A holder that keeps its mapping is recovered (EOWNERDEAD).
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  std::vector<shm::UniqueFd> fds;
  for (const char* name : {"kept", "earlier", "unmapped"}) {
    pb::Request r;
    r.mutable_create()->set_name(name);
    r.mutable_create()->set_typecode("i");
    r.mutable_create()->set_kind(pb::VALUE);
    r.mutable_create()->set_length(1);
    auto reply = raw.call(r);
    ASSERT_TRUE(reply && reply->second.size() == 1);
    fds.push_back(std::move(reply->second[0]));
  }
  auto run_child = [](const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body());  // exits normally, after the body's munmap
    int status = 0;
    ::waitpid(pid, &status, 0);
    return std::pair{pid, status};
  };
  // One child locks "kept" and exits with it mapped.
  const int kept_status = run_child([&] { return map_and_lock(fds[0].get()) ? 0 : 1; }).second;
  ASSERT_TRUE(WIFEXITED(kept_status) && WEXITSTATUS(kept_status) == 0);
  // Another locks "earlier", then "unmapped", unmaps the latter and exits normally.
  const auto [pid, status] = run_child([&] {
    if (map_and_lock(fds[1].get()) == nullptr) return 1;
    char* p = map_and_lock(fds[2].get());
    if (p == nullptr) return 1;
    return ::munmap(p, sizeof(shm::SegmentHeader)) == 0 ? 0 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  std::vector<char*> maps;
  for (const auto& fd : fds) {
    void* p = ::mmap(nullptr, sizeof(shm::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    maps.push_back(static_cast<char*>(p));
  }
  auto mutex = [&](std::size_t i) { return reinterpret_cast<pthread_mutex_t*>(maps[i] + 72); };
  auto lock_word = [&](std::size_t i) {
    std::int32_t w = 0;
    std::memcpy(&w, maps[i] + 72, sizeof w);
    return w;
  };
  EXPECT_EQ(lock_word(0) & 0x40000000, 0x40000000) << "FUTEX_OWNER_DIED set by the kernel";
  EXPECT_EQ(::pthread_mutex_trylock(mutex(0)), EOWNERDEAD);
  EXPECT_EQ(::pthread_mutex_consistent(mutex(0)), 0);
  EXPECT_EQ(::pthread_mutex_unlock(mutex(0)), 0);
  for (std::size_t i : {1U, 2U}) {
    SCOPED_TRACE(i == 1 ? "locked before the unmapped one" : "the unmapped one");
    EXPECT_EQ(lock_word(i), pid) << "still the dead child's thread id, no FUTEX_OWNER_DIED";
    EXPECT_EQ(::pthread_mutex_trylock(mutex(i)), EBUSY);
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 200'000'000;
    if (deadline.tv_nsec >= 1'000'000'000) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1'000'000'000;
    }
    EXPECT_EQ(::pthread_mutex_clocklock(mutex(i), CLOCK_MONOTONIC, &deadline), ETIMEDOUT);
  }
  for (char* p : maps) ::munmap(p, sizeof(shm::SegmentHeader));
}

// ---------------------------------------------------------------------------------------------
// Listing

TEST(Core, TenThousandSegmentsListSortedWithTheirTypes) {
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

TEST(Core, InfoRecordsCreatorAndMode) {
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

// ---------------------------------------------------------------------------------------------
// Lifetime

TEST(Core, RemoveWhileAttachedDefersRelease) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto old = client.create_value<int>("reused", 7);
  const auto old_id = old.info().id;
  ChildProcess other(peer(daemon, {"attach-and-wait", "reused"}));
  ASSERT_EQ(other.read_line(), "attached");
  const std::size_t fds_with_old = daemon.open_fds();

  shm::Client remover(daemon.socket_path());
  remover.remove("reused");

  // The name is gone at once...
  std::error_code ec;
  client.attach("reused", ec);
  EXPECT_EQ(ec, Errc::not_found);
  EXPECT_TRUE(gone(client, "reused"));
  remover.remove("reused", ec);
  EXPECT_EQ(ec, Errc::not_found) << "a removed name cannot be removed twice";
  // Listed only while referenced, and marked removed (like ipcs's "dest").
  for (const auto& s : client.list()) {
    if (s.name == "reused") {
      EXPECT_TRUE(s.removed);
      EXPECT_EQ(s.id, old_id);
    }
  }

  // ...but the holders keep working memory.
  old.store(42);
  EXPECT_EQ(old.load(), 42);
  auto guard = old.lock();
  EXPECT_FALSE(guard.owner_died());
  guard.unlock();

  // A new segment may take the name; it is different memory.
  auto fresh = client.create_value<int>("reused", 1);
  EXPECT_NE(fresh.info().id, old_id);
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(old.load(), 42);
  EXPECT_EQ(refcount(client, "reused"), 1) << "info of the name describes the new segment";
  EXPECT_FALSE(client.info("reused").removed);

  // The old memory goes when its last reference does.
  const std::size_t fds_with_both = daemon.open_fds();
  old.detach();
  other.kill(SIGKILL);
  other.wait();
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() + 2 <= fds_with_both; }))
      << "the removed segment's fd and the peer's connection should be closed: " << daemon.open_fds()
      << " open, " << fds_with_both << " before";
  EXPECT_GE(fds_with_both, fds_with_old);
  EXPECT_EQ(fresh.load(), 1);
}

TEST(Core, RemoveWithoutReferencesFreesAtOnce) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  client.create_value<int>("short.lived");
  EXPECT_EQ(refcount(client, "short.lived"), 0);
  client.remove("short.lived");
  EXPECT_TRUE(gone(client, "short.lived"));

  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  client.create_value<int>("short.lived");
  shmd::v1::Request r;
  r.mutable_remove()->set_name("short.lived");
  const auto reply = raw.call(r);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(reply->first.has_remove()) << reply->first.ShortDebugString();
  EXPECT_TRUE(reply->first.remove().freed());
}

TEST(Core, EphemeralSegmentVanishesWithItsLastReference) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  shm::CreateOptions eph;
  eph.ephemeral = true;
  auto creator = client.create_value<int>("eph", 5, eph);
  EXPECT_TRUE(client.info("eph").ephemeral);

  shm::Client other(daemon.socket_path());
  auto attached = other.attach_value<int>("eph");
  creator.detach();
  EXPECT_EQ(refcount(client, "eph"), 1) << "still referenced by the other client";
  EXPECT_EQ(attached.load(), 5);
  attached.detach();
  EXPECT_TRUE(gone(client, "eph"));

  auto reborn = client.create_value<int>("eph", 0, eph);  // the name is free again
  EXPECT_EQ(reborn.load(), 0);
}

TEST(Core, EphemeralSegmentVanishesWhenItsKilledCreatorWasTheLastHolder) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  ChildProcess creator(peer(daemon, {"create-and-wait", "eph.killed", "ephemeral"}));
  ASSERT_EQ(creator.read_line(), "created");
  ChildProcess persistent(peer(daemon, {"create-and-wait", "kept"}));
  ASSERT_EQ(persistent.read_line(), "created");
  EXPECT_EQ(refcount(client, "eph.killed"), 1);

  creator.kill(SIGKILL);
  persistent.kill(SIGKILL);
  creator.wait();
  persistent.wait();
  EXPECT_TRUE(eventually([&] { return gone(client, "eph.killed"); }));
  EXPECT_TRUE(eventually([&] { return refcount(client, "kept") == 0; }))
      << "a persistent segment outlives its creator";
}

TEST(Core, EphemeralSegmentOutlivesItsKilledCreatorWhileOthersHoldIt) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  ChildProcess creator(peer(daemon, {"create-and-wait", "eph.shared", "ephemeral"}));
  ASSERT_EQ(creator.read_line(), "created");
  auto mine = client.attach_value<int>("eph.shared");
  creator.kill(SIGKILL);
  creator.wait();
  EXPECT_TRUE(eventually([&] { return refcount(client, "eph.shared") == 1; }));
  mine.store(3);
  mine.detach();
  EXPECT_TRUE(gone(client, "eph.shared"));
}

// ---------------------------------------------------------------------------------------------
// Types

TEST(Core, AttachWithTheWrongTypeFailsWithTypeMismatch) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("an.int", 3);
  auto a = client.create_array<double>("doubles", 4);

  std::error_code ec;
  EXPECT_FALSE(client.attach_value<double>("an.int", ec));
  EXPECT_EQ(ec, Errc::type_mismatch);
  EXPECT_FALSE(shm::last_error_message().empty());
  client.attach_value<unsigned>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.attach_value<long>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.attach_array<int>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch) << "a Value is not an Array";
  client.attach_value<double>("doubles", ec);
  EXPECT_EQ(ec, Errc::type_mismatch) << "an Array is not a Value";
  client.attach_array<float>("doubles", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  try {
    client.attach_value<double>("an.int");
    ADD_FAILURE() << "the throwing form should throw";
  } catch (const shm::Error& e) {
    EXPECT_EQ(e.code(), Errc::type_mismatch);
  }

  // The failed attaches left no references behind.
  EXPECT_EQ(refcount(client, "an.int"), 1);
  EXPECT_EQ(refcount(client, "doubles"), 1);

  auto ok = client.attach_value<int>("an.int", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ok.load(), 3);
  auto ok_array = client.attach_array<double>("doubles", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ok_array.size(), 4U);
}

TEST(Core, OpenExistingAttachesOnlyToTheSameShape) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  shm::CreateOptions reuse;
  reuse.open_existing = true;
  auto first = client.create_value<int>("shape", 5, reuse);
  auto second = client.create_value<int>("shape", 9, reuse);  // attaches; keeps the value
  EXPECT_EQ(second.load(), 5);
  EXPECT_EQ(second.info().id, first.info().id);
  EXPECT_EQ(refcount(client, "shape"), 2);

  std::error_code ec;
  client.create_value<double>("shape", 1.0, reuse, ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.create_value<int>("shape", 1, {}, ec);
  EXPECT_EQ(ec, Errc::already_exists);
  EXPECT_EQ(refcount(client, "shape"), 2);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(Core, InvalidNamesAreRefused) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  for (const std::string& bad : {std::string(), std::string(256, 'n'), std::string("a/b"), std::string("a b"),
                                std::string("caf\xc3\xa9")}) {
    std::error_code ec;
    client.create_value<int>(bad, 0, {}, ec);
    EXPECT_EQ(ec, Errc::invalid_argument) << '"' << bad << '"';
    EXPECT_FALSE(shm::last_error_message().empty());
  }
  // Straight to the daemon, past any check in the client library.
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  for (const std::string& bad : {std::string(256, 'n'), std::string("../etc"), std::string("nul\0x", 5)}) {
    shmd::v1::Request r;
    auto* c = r.mutable_create();
    c->set_name(bad);
    c->set_typecode("i");
    c->set_kind(shmd::v1::VALUE);
    c->set_length(1);
    const auto reply = raw.call(r);
    EXPECT_EQ(error_of(reply), shmd::v1::INVALID_ARGUMENT) << bad;
    if (reply) {
      EXPECT_TRUE(reply->second.empty()) << "an error reply carries no fd";
    }
  }
  auto fine = client.create_value<int>(std::string(255, 'n'));
  EXPECT_EQ(client.list().size(), 1U);
}

TEST(Core, BadTypecodesKindsAndLengthsAreRefused) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  struct Case {
    std::string typecode;
    shmd::v1::Kind kind;
    std::uint64_t length;
  };
  for (const Case& c : {Case{"x", shmd::v1::VALUE, 1}, Case{"", shmd::v1::VALUE, 1}, Case{"ii", shmd::v1::VALUE, 1},
                        Case{"i", shmd::v1::KIND_UNSPECIFIED, 1}, Case{"i", shmd::v1::VALUE, 2},
                        Case{"i", shmd::v1::ARRAY, 0}}) {
    shmd::v1::Request r;
    auto* create = r.mutable_create();
    create->set_name("bad");
    create->set_typecode(c.typecode);
    create->set_kind(c.kind);
    create->set_length(c.length);
    const auto reply = raw.call(r);
    EXPECT_EQ(error_of(reply), shmd::v1::INVALID_ARGUMENT)
        << "typecode '" << c.typecode << "' kind " << c.kind << " length " << c.length;
  }
  // Sizes that overflow, and initial contents of the wrong size.
  shmd::v1::Request huge;
  huge.mutable_create()->set_name("huge");
  huge.mutable_create()->set_typecode("d");
  huge.mutable_create()->set_kind(shmd::v1::ARRAY);
  huge.mutable_create()->set_length(std::numeric_limits<std::uint64_t>::max() / 2);
  EXPECT_EQ(error_of(raw.call(huge)), shmd::v1::LIMIT_EXCEEDED) << "a byte size past 64 bits is past max-segment-bytes";
  shmd::v1::Request wrong_initial;
  wrong_initial.mutable_create()->set_name("init");
  wrong_initial.mutable_create()->set_typecode("i");
  wrong_initial.mutable_create()->set_kind(shmd::v1::VALUE);
  wrong_initial.mutable_create()->set_length(1);
  wrong_initial.mutable_create()->set_initial("abc");
  EXPECT_EQ(error_of(raw.call(wrong_initial)), shmd::v1::INVALID_ARGUMENT);

  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty()) << "nothing was created by the refused requests";
}

TEST(Core, MaxNameLengthIsEnforced) {
  DaemonProcess daemon({"--max-name-length", "8"});
  shm::Client client(daemon.socket_path());
  auto ok = client.create_value<int>("12345678");
  std::error_code ec;
  client.create_value<int>("123456789", 0, {}, ec);
  EXPECT_EQ(ec, Errc::invalid_argument);
  EXPECT_NE(shm::last_error_message().find('8'), std::string::npos) << shm::last_error_message();
  // On the wire, too long is INVALID_ARGUMENT whichever limit it passes (this daemon's 8 or the
  // protocol's 255), in every request that carries a name, even one that only looks it up.
  RawClient raw(daemon.socket_path());
  for (const std::string& name : {std::string(9, 'n'), std::string(256, 'n'), std::string(60000, 'n')}) {
    SCOPED_TRACE(name.size());
    shmd::v1::Request create;
    create.mutable_create()->set_name(name);
    create.mutable_create()->set_typecode("i");
    create.mutable_create()->set_kind(shmd::v1::VALUE);
    create.mutable_create()->set_length(1);
    EXPECT_EQ(error_of(raw.call(create)), shmd::v1::INVALID_ARGUMENT);
    shmd::v1::Request info;
    info.mutable_info()->set_name(name);
    EXPECT_EQ(error_of(raw.call(info)), shmd::v1::INVALID_ARGUMENT) << "not NOT_FOUND";
    EXPECT_EQ(error_of(raw.call(attach_request(name))), shmd::v1::INVALID_ARGUMENT);
  }
}

TEST(Core, MaxSegmentsRefusesTheNextCreateAndKeepsServing) {
  DaemonProcess daemon({"--max-segments", "3"});
  shm::Client client(daemon.socket_path());
  auto a = client.create_value<int>("s1");
  auto b = client.create_value<int>("s2");
  auto c = client.create_value<int>("s3");
  std::error_code ec;
  client.create_value<int>("s4", 0, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  EXPECT_FALSE(shm::last_error_message().empty());

  EXPECT_EQ(client.list().size(), 3U);  // still serving
  c.detach();
  client.remove("s3");
  auto d = client.create_value<int>("s4", 0, {}, ec);
  EXPECT_FALSE(ec) << "a freed slot can be used again: " << shm::last_error_message();
  EXPECT_TRUE(daemon.running());
}

TEST(Core, MaxSegmentBytesLimitsOneSegment) {
  DaemonProcess daemon({"--max-segment-bytes", "1024"});
  shm::Client client(daemon.socket_path());
  std::error_code ec;
  auto fits = client.create_array<double>("fits", 128, {}, ec);  // exactly 1024 data bytes
  EXPECT_FALSE(ec) << shm::last_error_message();
  client.create_array<double>("too.big", 129, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  client.create_array<char>("too.big", 1025, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);
  EXPECT_TRUE(gone(client, "too.big"));
}

TEST(Core, MaxTotalBytesCountsEveryLiveSegment) {
  DaemonProcess daemon({"--max-total-bytes", "4096"});
  shm::Client client(daemon.socket_path());
  std::error_code ec;
  auto a = client.create_array<char>("a", 1500, {}, ec);
  ASSERT_FALSE(ec) << shm::last_error_message();
  auto b = client.create_array<char>("b", 1500, {}, ec);
  ASSERT_FALSE(ec) << shm::last_error_message();
  client.create_array<char>("c", 1500, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded);

  // A removed segment still counts while it is attached, and stops counting when freed.
  client.remove("a");
  client.create_array<char>("c", 1500, {}, ec);
  EXPECT_EQ(ec, Errc::limit_exceeded) << "the removed segment is still mapped by its holder";
  a.detach();
  auto c = client.create_array<char>("c", 1500, {}, ec);
  EXPECT_FALSE(ec) << shm::last_error_message();
}

// ---------------------------------------------------------------------------------------------
// Malformed input

TEST(Core, OversizeRequestFrameGetsProtocolErrorAndIsClosed) {
  DaemonProcess daemon;
  shm::Client bystander(daemon.socket_path());
  auto v = bystander.create_value<int>("bystander", 11);

  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  std::string frame;
  shm::wire::append_varint(frame, shm::wire::kMaxFrameBytes + 1);
  frame.append(shm::wire::kMaxFrameBytes + 1, 'x');
  raw.send_bytes(frame);  // may fail part way when the daemon closes first
  const auto reply = raw.receive(10s);
  EXPECT_EQ(error_of(reply), shmd::v1::PROTOCOL_ERROR) << (reply ? reply->first.ShortDebugString() : "no reply");
  if (reply) {
    EXPECT_FALSE(reply->first.error().message().empty());
  }
  EXPECT_TRUE(raw.closed_by_peer()) << "the daemon should close the connection";

  // Everybody else is served as before.
  EXPECT_EQ(refcount(bystander, "bystander"), 1);
  shm::Client newcomer(daemon.socket_path());
  EXPECT_EQ(newcomer.attach_value<int>("bystander").load(), 11);
  EXPECT_TRUE(daemon.running());
}

TEST(Core, RequestOfExactly64KiBIsAccepted) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  shmd::v1::Request r;
  r.set_request_id(77);
  std::size_t name_length = shm::wire::kMaxFrameBytes - 16;
  r.mutable_info()->set_name(std::string(name_length, 'n'));
  while (r.ByteSizeLong() != shm::wire::kMaxFrameBytes) {
    name_length = r.ByteSizeLong() > shm::wire::kMaxFrameBytes ? name_length - 1 : name_length + 1;
    r.mutable_info()->set_name(std::string(name_length, 'n'));
  }
  ASSERT_TRUE(raw.send_request(r));
  const auto reply = raw.receive(10s);
  // The reply itself must fit in a frame too, however long the name the request carried.
  ASSERT_TRUE(reply) << "no reply that fits in a 64 KiB frame";
  EXPECT_EQ(reply->first.request_id(), 77U);
  EXPECT_NE(error_of(reply), shmd::v1::PROTOCOL_ERROR) << "a 64 KiB frame is within the limit";
  EXPECT_TRUE(raw.hello()) << "the connection stays open";
}

TEST(Core, GarbageProtobufGetsAnErrorReplyAndTheDaemonLives) {
  DaemonProcess daemon;
  for (const std::string& garbage : {std::string("\x00\x01\x02", 3), std::string("\x0f"),
                                    std::string("\x5a\x10" "abc", 5), std::string(100, '\xff')}) {
    RawClient raw(daemon.socket_path());
    std::string frame;
    shm::wire::append_frame(frame, garbage);
    ASSERT_TRUE(raw.send_bytes(frame));
    const auto reply = raw.receive(10s);
    ASSERT_TRUE(reply) << "no reply to garbage";
    EXPECT_TRUE(reply->first.has_error());
    EXPECT_EQ(reply->first.error().code(), shmd::v1::PROTOCOL_ERROR);
  }
  EXPECT_TRUE(daemon.running());
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
}

TEST(Core, RequestWithoutABodyGetsAnErrorReply) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  shmd::v1::Request empty;
  empty.set_request_id(5);
  ASSERT_TRUE(raw.send_request(empty));
  const auto reply = raw.receive(10s);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->first.has_error());
  EXPECT_EQ(reply->first.request_id(), 5U);
  EXPECT_TRUE(daemon.running());
}

TEST(Core, OverlongVarintPrefixGetsProtocolError) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.send_bytes(std::string(11, '\x80')));
  EXPECT_EQ(error_of(raw.receive(10s)), shmd::v1::PROTOCOL_ERROR);
  EXPECT_TRUE(raw.closed_by_peer());
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
}

TEST(Core, ClientVanishingMidFrameDoesNotDisturbTheDaemon) {
  DaemonProcess daemon;
  const std::size_t fds_before = daemon.open_fds();
  for (int i = 0; i < 20; ++i) {
    RawClient raw(daemon.socket_path());
    std::string frame;
    shm::wire::append_varint(frame, 1000);
    frame.append(10, 'x');
    raw.send_bytes(frame);
  }
  shm::Client client(daemon.socket_path());
  EXPECT_TRUE(client.list().empty());
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() <= fds_before + 1; }))
      << daemon.open_fds() << " fds, " << fds_before << " before + 1 client";
}

TEST(Core, HelloReportsTheSegmentLayout) {
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  shmd::v1::Request hello;
  hello.mutable_hello()->set_protocol_version(1);
  const auto reply = raw.call(hello);
  ASSERT_TRUE(reply && reply->first.has_hello());
  EXPECT_EQ(reply->first.hello().segment_layout(), shm::kLayoutVersion);
}

TEST(Core, ClientRefusesADaemonThatWritesAnotherSegmentLayout) {
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

TEST(Core, ProtocolErrorsAreReportedWithTheirCodes) {
  DaemonProcess daemon;
  shm::Client other(daemon.socket_path());
  auto theirs = other.create_value<int>("theirs");

  {
    RawClient future(daemon.socket_path());
    shmd::v1::Request wrong_version;
    wrong_version.mutable_hello()->set_protocol_version(99);
    EXPECT_EQ(error_of(future.call(wrong_version)), shmd::v1::VERSION_MISMATCH);
  }
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());

  shmd::v1::Request detach;
  detach.mutable_detach()->set_id(theirs.info().id);
  EXPECT_EQ(error_of(raw.call(detach)), shmd::v1::NOT_ATTACHED) << "this connection holds no reference";
  EXPECT_EQ(refcount(other, "theirs"), 1);

  EXPECT_EQ(error_of(raw.call(attach_request("missing"))), shmd::v1::NOT_FOUND);
  shmd::v1::Request info;
  info.set_request_id(1234);
  info.mutable_info()->set_name("missing");
  const auto reply = raw.call(info);
  EXPECT_EQ(error_of(reply), shmd::v1::NOT_FOUND);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->first.request_id(), 1234U);
  EXPECT_EQ(reply->first.body_case(), shmd::v1::Response::BODY_NOT_SET) << "an error reply has no body";
}

// ---------------------------------------------------------------------------------------------
// fork()

TEST(Core, ForkedChildGetsItsOwnConnection) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("forked", 1);
  auto target = client.create_value<int>("target", 0);
  target.detach();
  ASSERT_EQ(refcount(client, "forked"), 1);

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Never return into gtest here: report by exit code only.
    int code = 0;
    try {
      std::error_code ec;
      auto w = client.attach_value<int>("target", ec);
      if (ec) ::_exit(10);
      w.store(42);
      const auto info = client.info("target", ec);
      if (ec) ::_exit(11);
      if (info.refcount != 1) ::_exit(12);
      v.detach();  // the inherited handle only unmaps; the parent's reference stays
      if (client.info("forked", ec).refcount != 1 || ec) ::_exit(13);
      client.list(ec);
      if (ec) ::_exit(14);
    } catch (...) {
      code = 20;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the exit codes in the child's branch";

  // The parent's stream is intact: its next requests succeed and see the child's work.
  EXPECT_EQ(client.attach_value<int>("target").load(), 42);
  EXPECT_EQ(client.list().size(), 2U);
  EXPECT_TRUE(eventually([&] { return refcount(client, "target") == 0; }))
      << "the child's reference went with its connection";
  EXPECT_EQ(refcount(client, "forked"), 1);
  EXPECT_EQ(v.load(), 1);
}

// ---------------------------------------------------------------------------------------------
// The daemon process

TEST(Core, SecondDaemonOnTheSameSocketRefusesToStart) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("survivor", 3);

  const auto second = run({SHMD_BIN, "--socket", daemon.socket_path()}, {}, 30s);
  EXPECT_NE(second.exit_code, 0);
  std::string said = second.err + second.out;
  std::transform(said.begin(), said.end(), said.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_TRUE(said.find("already") != std::string::npos || said.find("in use") != std::string::npos ||
              said.find("running") != std::string::npos)
      << "it should say another daemon answers there:\n" << said;

  EXPECT_TRUE(daemon.running());
  shm::Client again(daemon.socket_path());
  EXPECT_EQ(again.attach_value<int>("survivor").load(), 3);
}

TEST(Core, StaleSocketFileIsReplaced) {
  // A socket file that was bound and then abandoned: nobody answers on it.
  DaemonProcess daemon({}, [](const std::filesystem::path& dir) {
    const shm::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = (dir / "shmd.sock").string();
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  });
  ASSERT_TRUE(std::filesystem::is_socket(daemon.socket_path()));
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("after.stale", 1);
  EXPECT_EQ(client.list().size(), 1U);
}

TEST(Core, SigtermShutsDownCleanlyAndRemovesTheSocket) {
  DaemonProcess daemon;
  {
    shm::Client client(daemon.socket_path());
    auto v = client.create_value<int>("x");
  }
  const int status = daemon.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

TEST(Core, SigintShutsDownCleanlyEvenWithClientsConnected) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("held");
  ChildProcess holder(peer(daemon, {"attach-and-wait", "held"}));
  ASSERT_EQ(holder.read_line(), "attached");
  const int status = daemon.stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
  v.store(5);  // mappings outlive the daemon
  EXPECT_EQ(v.load(), 5);
}

TEST(Core, SocketModeDefaultsTo0666AndCanBeSet) {
  DaemonProcess by_default;
  struct stat st{};
  ASSERT_EQ(::stat(by_default.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666U);
  DaemonProcess strict({"--socket-mode", "0600"});
  ASSERT_EQ(::stat(strict.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST(Core, HelpAndVersionExitZero) {
  const auto help = run({SHMD_BIN, "--help"}, {}, 30s);
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--socket"), std::string::npos) << help.out;
  const auto version = run({SHMD_BIN, "--version"}, {}, 30s);
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("0.1"), std::string::npos) << version.out;
}

TEST(Core, BusyPollWindowOutOfRangeIsAUsageErrorAndZeroTurnsItOff) {
  for (const char* bad : {"-1", "10001", "fast"}) {
    const auto r = run({SHMD_BIN, "--busy-poll-us", bad}, {}, 30s);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--busy-poll-us"), std::string::npos) << r.err;
  }
  DaemonProcess daemon({"--busy-poll-us", "0"});
  shm::Client client(daemon.socket_path());
  EXPECT_EQ(client.create_value<int>("polled", 7).load(), 7);
}

TEST(Core, IdleDaemonSleepsOnceItsBusyPollWindowHasPassed) {
  DaemonProcess daemon({"--busy-poll-us", "10000"});  // the longest window there is
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("awake", 1);
  EXPECT_EQ(client.info("awake").refcount, 1U);
  // Busy polling keeps the daemon runnable ('R'); asleep in epoll_wait it is 'S'.
  const auto state = [&] { return shm::test::scheduler_state("/proc/" + std::to_string(daemon.pid()) + "/stat"); };
  EXPECT_TRUE(eventually([&] { return state() == 'S'; })) << "shmd is still state " << state();
}

/// How often the calling thread has gone to sleep (blocked) so far.
long sleeps_of_this_thread() { return shm::test::status_field("/proc/thread-self/status", "voluntary_ctxt_switches"); }

TEST(Core, ClientPollsForItsRepliesInsteadOfSleeping) {
  DaemonProcess daemon({"--busy-poll-us", "10000"});  // an awake daemon answers in microseconds
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("prompt", 3);
  constexpr int kRequests = 200;
  const auto sleeps_over_requests = [&] {
    const long before = sleeps_of_this_thread();
    for (int i = 0; i < kRequests; ++i) EXPECT_EQ(client.info("prompt").refcount, 1U);
    return sleeps_of_this_thread() - before;
  };
  client.set_busy_poll(0us);  // each wait for a reply sleeps in poll()
  const long plain = sleeps_over_requests();
  client.set_busy_poll(std::chrono::milliseconds(10));
  const long polling = sleeps_over_requests();
  // Compared, not expected to be zero: on a loaded machine a reply can take longer than the
  // window, and the thread can block elsewhere (an allocator lock under a sanitizer).
  EXPECT_GE(plain, kRequests / 4);
  EXPECT_LT(polling * 3, plain) << "the client slept " << polling << " times in " << kRequests
                                << " requests with the window, " << plain << " without";
  EXPECT_EQ(v.load(), 3);
}

TEST(Core, UnknownOptionIsAUsageError) {
  const auto r = run({SHMD_BIN, "--no-such-option"}, {}, 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

TEST(Core, ManyShortConnectionsLeakNoDescriptors) {
  DaemonProcess daemon;
  shm::Client keeper(daemon.socket_path());
  auto v = keeper.create_value<int>("k");
  const std::size_t fds_before = daemon.open_fds();
  for (int i = 0; i < 50; ++i) {
    shm::Client c(daemon.socket_path());
    auto a = c.attach_value<int>("k");
    a.fetch_add(1);
  }
  EXPECT_EQ(v.load(), 50);
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() <= fds_before; }))
      << daemon.open_fds() << " fds open, " << fds_before << " before";
  EXPECT_EQ(refcount(keeper, "k"), 1);
}

}  // namespace
