// Segment lifetime against a real shmd: reference counts per connection (dropped when a client
// closes, is killed or detaches), deferred removal and ephemeral segments.

#include <signal.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "raw_client.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"

namespace {

using shm::Errc;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::gone;
using shm::test::peer_command;
using shm::test::RawClient;
using shm::test::refcount;
namespace pb = shmd::v1;

// ---------------------------------------------------------------------------------------------
// Reference counting

TEST(Lifetime, KilledClientDropsItsReferences) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("watched", 7);
  ASSERT_EQ(refcount(client, "watched"), 1);
  const std::size_t fds_before = daemon.open_fds();

  ChildProcess holder(peer_command(daemon.socket_path(), {"attach-and-wait", "watched"}));
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

TEST(Lifetime, ClosedClientDropsEveryReferenceItHeld) {
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

TEST(Lifetime, DetachDropsOneReference) {
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

TEST(Lifetime, DroppedHandleIsReleasedBeforeTheSameClientsNextRequest) {
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

TEST(Lifetime, CreateDetachedMakesASegmentWithoutAReference) {
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

TEST(Lifetime, QuietDetachSendsNoReplyEvenWhenRefused) {
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
// Removal and ephemeral segments

TEST(Lifetime, RemoveWhileAttachedDefersRelease) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto old = client.create_value<int>("reused", 7);
  const auto old_id = old.info().id;
  ChildProcess other(peer_command(daemon.socket_path(), {"attach-and-wait", "reused"}));
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
      << "the removed segment's fd and the peer's connection should be closed: " << daemon.open_fds() << " open, "
      << fds_with_both << " before";
  EXPECT_GE(fds_with_both, fds_with_old);
  EXPECT_EQ(fresh.load(), 1);
}

TEST(Lifetime, RemoveWithoutReferencesFreesAtOnce) {
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

TEST(Lifetime, EphemeralSegmentVanishesWithItsLastReference) {
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

TEST(Lifetime, EphemeralSegmentVanishesWhenItsKilledCreatorWasTheLastHolder) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  ChildProcess creator(peer_command(daemon.socket_path(), {"create-and-wait", "eph.killed", "ephemeral"}));
  ASSERT_EQ(creator.read_line(), "created");
  ChildProcess persistent(peer_command(daemon.socket_path(), {"create-and-wait", "kept"}));
  ASSERT_EQ(persistent.read_line(), "created");
  EXPECT_EQ(refcount(client, "eph.killed"), 1);

  creator.kill(SIGKILL);
  persistent.kill(SIGKILL);
  creator.wait();
  persistent.wait();
  EXPECT_TRUE(eventually([&] { return gone(client, "eph.killed"); }));
  EXPECT_TRUE(eventually([&] { return refcount(client, "kept") == 0; })) << "a persistent segment outlives its creator";
}

TEST(Lifetime, EphemeralSegmentOutlivesItsKilledCreatorWhileOthersHoldIt) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  ChildProcess creator(peer_command(daemon.socket_path(), {"create-and-wait", "eph.shared", "ephemeral"}));
  ASSERT_EQ(creator.read_line(), "created");
  auto mine = client.attach_value<int>("eph.shared");
  creator.kill(SIGKILL);
  creator.wait();
  EXPECT_TRUE(eventually([&] { return refcount(client, "eph.shared") == 1; }));
  mine.store(3);
  mine.detach();
  EXPECT_TRUE(gone(client, "eph.shared"));
}

}  // namespace
