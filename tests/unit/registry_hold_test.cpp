// Registry holds: a reference no connection owns, claimed by a later attach or ended at its
// deadline. Time is passed in, so expiry is checked to the second without waiting. No daemon runs.

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "shmd/registry.hpp"

namespace shmd {
namespace {

using namespace std::chrono_literals;
using shm::Errc;

constexpr ClientId kSender = 1;
constexpr ClientId kReceiver = 2;
const Credentials kAlice{1000, 100, 4242};
const Credentials kBob{1001, 100, 4343};
const Credentials kRoot{0, 0, 1};
const HoldClock::time_point kT0 = HoldClock::time_point{} + 1000h;

/// Records what the registry tells its persistence: freed segments, and the reference counts a
/// restart would restore.
class FreedLog final : public RegistryObserver {
 public:
  void segment_created(const SegmentRecord& record) override { restorable = record.restorable_references(); }
  void segment_updated(const SegmentRecord&) override {}
  void segment_removed(const SegmentRecord&) override {}
  void segment_freed(const SegmentRecord& record) override { freed.push_back(record.id); }
  void segment_references(const SegmentRecord& record) override { restorable = record.restorable_references(); }
  std::vector<std::uint64_t> freed;  ///< ids, in order
  std::uint32_t restorable = 0;      ///< the last count reported
};

CreateParams value_params(std::string_view name, bool ephemeral, std::uint32_t mode = 0600) {
  CreateParams p;
  p.name = name;
  p.typecode = 'd';
  p.kind = shm::Kind::value;
  p.length = 1;
  p.ephemeral = ephemeral;
  p.mode = mode;
  return p;
}

std::uint64_t create_ok(Registry& r, ClientId client, const Credentials& who, std::string_view name,
                        bool ephemeral = true, std::uint32_t mode = 0600) {
  auto out = r.create(client, who, value_params(name, ephemeral, mode));
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.failure().message);
  return out.ok() ? out->segment->id : 0;
}

std::uint64_t hold_ok(Registry& r, ClientId client, const Credentials& who, std::uint64_t id, std::uint32_t seconds = 0,
                      HoldClock::time_point now = kT0) {
  auto out = r.hold(client, who, id, seconds, now);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.failure().message);
  return out.ok() ? out->token : 0;
}

TEST(RegistryHold, HoldKeepsAnEphemeralSegmentAliveAfterItsLastConnectionCloses) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e");
  auto held = r.hold(kSender, kAlice, id, 0, kT0);
  ASSERT_TRUE(held.ok()) << held.failure().message;
  EXPECT_NE(held->token, 0u);
  EXPECT_EQ(held->segment->refcount, 2u) << "the hold is a reference";
  EXPECT_EQ(held->segment->holds, 1u);

  r.drop_client(kSender);  // the sender exits: its reference goes, the hold stays
  const SegmentRecord* s = r.find("e");
  ASSERT_NE(s, nullptr) << "an ephemeral segment with a hold outlives its connections";
  EXPECT_EQ(s->refcount, 1u);
  EXPECT_EQ(s->holds, 1u);
  EXPECT_EQ(r.hold_count(), 1u);
}

TEST(RegistryHold, ClaimMovesTheHoldsReferenceToTheReceiver) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e");
  const auto token = hold_ok(r, kSender, kAlice, id);
  r.drop_client(kSender);

  auto claimed = r.claim(kReceiver, kAlice, "e", shm::AccessMode::read_write, token);
  ASSERT_TRUE(claimed.ok()) << claimed.failure().message;
  EXPECT_TRUE(claimed->claimed);
  EXPECT_EQ(claimed->segment->refcount, 1u) << "the receiver's reference replaced the hold's";
  EXPECT_EQ(claimed->segment->holds, 0u);
  EXPECT_EQ(r.hold_count(), 0u);
  EXPECT_EQ(r.holds_of(kAlice.uid), 0u);
  EXPECT_FALSE(r.next_hold_deadline().has_value());

  // The reference is the receiver's now: it detaches like any other, and the segment goes with it.
  auto left = r.detach(kReceiver, id);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left.value(), 0u);
  EXPECT_EQ(r.find("e"), nullptr);
  EXPECT_EQ(r.segment_count(), 0u);
}

TEST(RegistryHold, UnclaimedHoldExpiresAtItsDeadlineAndFreesTheEphemeralSegment) {
  Registry r;
  FreedLog log;
  r.set_observer(&log);
  const auto id = create_ok(r, kSender, kAlice, "e");
  hold_ok(r, kSender, kAlice, id, 5, kT0);
  r.drop_client(kSender);
  ASSERT_EQ(r.next_hold_deadline(), kT0 + 5s);

  EXPECT_EQ(r.expire_holds(kT0 + 4999ms), 0u);
  ASSERT_NE(r.find("e"), nullptr);
  EXPECT_TRUE(log.freed.empty());

  EXPECT_EQ(r.expire_holds(kT0 + 5s), 1u);
  EXPECT_EQ(r.find("e"), nullptr);
  EXPECT_EQ(r.segment_count(), 0u);
  EXPECT_EQ(r.total_bytes(), 0u);
  EXPECT_EQ(r.usage(kAlice.uid).second, 0u) << "the creator's quota is given back";
  EXPECT_EQ(log.freed, std::vector<std::uint64_t>{id}) << "the fd store is told, so nothing leaks there";
  EXPECT_EQ(r.hold_count(), 0u);
  EXPECT_EQ(r.holds_of(kAlice.uid), 0u);
  EXPECT_FALSE(r.next_hold_deadline().has_value());
}

TEST(RegistryHold, TheCountsARestartWouldRestoreLeaveHoldsOut) {
  // A restart ends every hold, so the journal must not offer a hold's reference to Reattach.
  Registry r;
  FreedLog log;
  r.set_observer(&log);
  const auto id = create_ok(r, kSender, kAlice, "p", /*ephemeral=*/false);
  EXPECT_EQ(log.restorable, 1u);
  const auto token = hold_ok(r, kSender, kAlice, id);
  EXPECT_EQ(r.find("p")->restorable_references(), 1u);
  EXPECT_EQ(r.find("p")->references(), 2u);
  ASSERT_TRUE(r.detach(kSender, id).ok());
  EXPECT_EQ(log.restorable, 0u) << "only the hold is left";
  ASSERT_TRUE(r.claim(kReceiver, kAlice, "p", shm::AccessMode::read_write, token)->claimed);
  EXPECT_EQ(log.restorable, 1u) << "the claimed reference is a connection's, which a restart hands back";
}

TEST(RegistryHold, ExpiryEndsOnlyTheHoldsThatAreDue) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "p", /*ephemeral=*/false);
  hold_ok(r, kSender, kAlice, id, 10, kT0);
  hold_ok(r, kSender, kAlice, id, 3, kT0);
  hold_ok(r, kSender, kAlice, id, 3, kT0 + 1s);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 3s);
  EXPECT_EQ(r.expire_holds(kT0 + 3s), 1u);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 4s);
  EXPECT_EQ(r.find("p")->holds, 2u);
  EXPECT_EQ(r.find("p")->refcount, 3u);
  EXPECT_EQ(r.expire_holds(kT0 + 60s), 2u);
  EXPECT_EQ(r.find("p")->refcount, 1u) << "the sender's own reference was never a hold";
  EXPECT_EQ(r.find("p")->holds, 0u);
}

TEST(RegistryHold, ExpiredHoldOfAPersistentSegmentLeavesTheSegment) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "p", /*ephemeral=*/false);
  hold_ok(r, kSender, kAlice, id, 1, kT0);
  r.drop_client(kSender);
  EXPECT_EQ(r.expire_holds(kT0 + 1s), 1u);
  ASSERT_NE(r.find("p"), nullptr);
  EXPECT_EQ(r.find("p")->refcount, 0u);
}

TEST(RegistryHold, HoldNeedsAReferenceOnTheCallersOwnConnection) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e", true, 0666);
  auto stranger = r.hold(kReceiver, kAlice, id, 0, kT0);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.failure().code, Errc::not_attached);
  EXPECT_NE(stranger.failure().message.find("holds no reference to segment id " + std::to_string(id)),
            std::string::npos)
      << stranger.failure().message;
  EXPECT_EQ(r.hold(kSender, kAlice, id + 7, 0, kT0).failure().code, Errc::not_attached);

  // A reader that holds the segment may pin it; after its detach it may not.
  ASSERT_TRUE(r.attach(kReceiver, kBob, "e", shm::AccessMode::read_only).ok());
  const auto token = hold_ok(r, kReceiver, kBob, id);
  EXPECT_NE(token, 0u);
  ASSERT_TRUE(r.detach(kReceiver, id).ok());
  EXPECT_EQ(r.hold(kReceiver, kBob, id, 0, kT0).failure().code, Errc::not_attached);
  EXPECT_EQ(r.find("e")->refcount, 2u) << "refused holds change nothing";
  EXPECT_EQ(r.find("e")->holds, 1u);
}

TEST(RegistryHold, LifetimeDefaultsToThirtySecondsAndIsBounded) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e");
  auto standard = r.hold(kSender, kAlice, id, 0, kT0);
  ASSERT_TRUE(standard.ok());
  EXPECT_EQ(standard->lifetime, 30s);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 30s);
  auto longest = r.hold(kSender, kAlice, id, 600, kT0);
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->lifetime, 600s);
  auto too_long = r.hold(kSender, kAlice, id, 601, kT0);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.failure().code, Errc::invalid_argument);
  EXPECT_NE(too_long.failure().message.find("600"), std::string::npos) << too_long.failure().message;
  EXPECT_EQ(r.find("e")->holds, 2u);
}

TEST(RegistryHold, HoldsAreBoundedPerUidRootIncluded) {
  Limits limits;
  limits.max_holds_per_uid = 2;
  Registry r(limits);
  const auto id = create_ok(r, kSender, kAlice, "e", true, 0666);
  const auto first = hold_ok(r, kSender, kAlice, id);
  hold_ok(r, kSender, kAlice, id);
  auto third = r.hold(kSender, kAlice, id, 0, kT0);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.failure().code, Errc::limit_exceeded);
  EXPECT_NE(third.failure().message.find("max-holds-per-uid"), std::string::npos) << third.failure().message;
  EXPECT_EQ(r.holds_of(kAlice.uid), 2u);

  // The bound is per uid: another uid on the same segment has its own.
  ASSERT_TRUE(r.attach(kReceiver, kBob, "e", shm::AccessMode::read_write).ok());
  hold_ok(r, kReceiver, kBob, id);
  EXPECT_EQ(r.holds_of(kBob.uid), 1u);

  // A claimed hold no longer counts against its taker.
  auto claimed = r.claim(kReceiver, kBob, "e", shm::AccessMode::read_write, first);
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->claimed);
  EXPECT_EQ(r.holds_of(kAlice.uid), 1u);
  hold_ok(r, kSender, kAlice, id);

  // Root is bounded too: a hold pins memory that no connection accounts for.
  ASSERT_TRUE(r.attach(kReceiver, kRoot, "e", shm::AccessMode::read_write).ok());
  hold_ok(r, kReceiver, kRoot, id);
  hold_ok(r, kReceiver, kRoot, id);
  EXPECT_EQ(r.hold(kReceiver, kRoot, id, 0, kT0).failure().code, Errc::limit_exceeded);
}

TEST(RegistryHold, ClaimWithATokenThatIsNotALiveHoldOfThatSegmentStillAttaches) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e");
  const auto other = create_ok(r, kSender, kAlice, "other");
  const auto other_token = hold_ok(r, kSender, kAlice, other);
  const auto token = hold_ok(r, kSender, kAlice, id);
  const std::uint32_t before = r.find("e")->refcount;

  std::uint32_t expected = before;
  for (const std::uint64_t bad : {std::uint64_t{0}, token ^ 1, other_token}) {
    auto attached = r.claim(kReceiver, kAlice, "e", shm::AccessMode::read_write, bad);
    ASSERT_TRUE(attached.ok()) << attached.failure().message;
    EXPECT_FALSE(attached->claimed) << "token " << bad;
    EXPECT_EQ(attached->segment->refcount, ++expected) << "a reference of its own";
  }
  EXPECT_EQ(r.find("other")->holds, 1u) << "another segment's hold is not spent";

  ASSERT_TRUE(r.claim(kReceiver, kAlice, "e", shm::AccessMode::read_write, token)->claimed);
  auto again = r.claim(kReceiver, kAlice, "e", shm::AccessMode::read_write, token);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->claimed) << "a hold is claimed once";

  // An expired token attaches as well.
  const auto late = hold_ok(r, kSender, kAlice, id, 1, kT0);
  ASSERT_EQ(r.expire_holds(kT0 + 1s), 1u);
  auto expired = r.claim(kReceiver, kAlice, "e", shm::AccessMode::read_write, late);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->claimed);
}

TEST(RegistryHold, ClaimChecksPermissionsAsAttachDoesAndLeavesTheHold) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e", true, 0640);
  const auto token = hold_ok(r, kSender, kAlice, id);
  const Credentials stranger{2000, 2000, 9};
  auto refused = r.claim(kReceiver, stranger, "e", shm::AccessMode::read_only, token);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().code, Errc::permission_denied);
  EXPECT_EQ(r.claim(kReceiver, kBob, "e", shm::AccessMode::read_write, token).failure().code, Errc::permission_denied)
      << "the group may read, not write";
  EXPECT_EQ(r.find("e")->holds, 1u);

  auto reader = r.claim(kReceiver, kBob, "e", shm::AccessMode::read_only, token);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(reader->claimed);
  EXPECT_EQ(r.claim(kReceiver, kAlice, "missing", shm::AccessMode::read_only, token).failure().code, Errc::not_found);
}

TEST(RegistryHold, RemoveEndsTheSegmentsHolds) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "p", /*ephemeral=*/false);
  const auto kept = create_ok(r, kSender, kAlice, "q", /*ephemeral=*/false);
  hold_ok(r, kSender, kAlice, id);
  hold_ok(r, kSender, kAlice, id);
  hold_ok(r, kSender, kAlice, kept);
  ASSERT_TRUE(r.detach(kSender, id).ok());
  auto freed = r.remove(kAlice, "p");
  ASSERT_TRUE(freed.ok());
  EXPECT_TRUE(freed.value()) << "unclaimable holds do not keep a removed segment's memory";
  EXPECT_EQ(r.segment_count(), 1u);
  EXPECT_EQ(r.hold_count(), 1u);
  EXPECT_EQ(r.holds_of(kAlice.uid), 1u);
  EXPECT_EQ(r.find("q")->holds, 1u);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 30s);
}

TEST(RegistryHold, TokensAreDistinctAndNeverZero) {
  Registry r;
  const auto id = create_ok(r, kSender, kAlice, "e");
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto token = hold_ok(r, kSender, kAlice, id);
    EXPECT_NE(token, 0u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(r.find("e")->holds, 1000u);
}

TEST(RegistryHold, AHoldFromTheCloseCannotExpireWhileItsConnectionLives) {
  Registry r;
  FreedLog log;
  r.set_observer(&log);
  const auto id = create_ok(r, kSender, kAlice, "e");
  ASSERT_TRUE(r.hold(kSender, kAlice, id, 2, kT0, HoldStart::at_close).ok());
  ASSERT_TRUE(r.detach(kSender, id).ok());  // the sender's own reference goes; its connection stays
  EXPECT_FALSE(r.next_hold_deadline().has_value()) << "no deadline while the connection is open";
  EXPECT_EQ(r.expire_holds(kT0 + 24h), 0u);
  ASSERT_NE(r.find("e"), nullptr);

  // The lifetime starts at the close, even of a connection that holds no reference any more.
  EXPECT_EQ(r.drop_client(kSender, kT0 + 25h), 1u);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 25h + 2s);
  EXPECT_EQ(r.expire_holds(kT0 + 25h + 1999ms), 0u);
  ASSERT_NE(r.find("e"), nullptr);
  EXPECT_EQ(r.expire_holds(kT0 + 25h + 2s), 1u);
  EXPECT_EQ(r.find("e"), nullptr);
  EXPECT_EQ(log.freed, std::vector<std::uint64_t>{id});
  EXPECT_EQ(r.hold_count(), 0u);
  EXPECT_EQ(r.drop_client(kSender, kT0 + 26h), 0u) << "idempotent";
}

TEST(RegistryHold, AHoldFromTheCloseIsClaimedOrEndedByRemoveLikeAnyOther) {
  Registry r;
  const auto claimed_id = create_ok(r, kSender, kAlice, "c");
  const auto removed_id = create_ok(r, kSender, kAlice, "p", false);
  auto token = r.hold(kSender, kAlice, claimed_id, 0, kT0, HoldStart::at_close);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(r.hold(kSender, kAlice, removed_id, 0, kT0, HoldStart::at_close).ok());
  EXPECT_EQ(r.holds_of(kAlice.uid), 2u);

  auto got = r.claim(kReceiver, kAlice, "c", shm::AccessMode::read_write, token->token);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->claimed);
  ASSERT_TRUE(r.remove(kAlice, "p").ok());
  EXPECT_EQ(r.hold_count(), 0u);
  EXPECT_EQ(r.holds_of(kAlice.uid), 0u);
  // Neither is left to start at the close.
  EXPECT_EQ(r.drop_client(kSender, kT0), 0u);
  EXPECT_FALSE(r.next_hold_deadline().has_value());
  ASSERT_NE(r.find("c"), nullptr) << "the receiver holds it";
}

TEST(RegistryHold, HoldsFromTheCloseStartWithTheirOwnConnectionOnly) {
  Registry r;
  const auto a = create_ok(r, kSender, kAlice, "a");
  const auto b = create_ok(r, kReceiver, kAlice, "b");
  ASSERT_TRUE(r.hold(kSender, kAlice, a, 3, kT0, HoldStart::at_close).ok());
  ASSERT_TRUE(r.hold(kReceiver, kAlice, b, 5, kT0, HoldStart::at_close).ok());
  EXPECT_EQ(r.drop_client(kReceiver, kT0 + 1s), 1u);
  EXPECT_EQ(r.next_hold_deadline(), kT0 + 6s);
  EXPECT_EQ(r.expire_holds(kT0 + 1h), 1u);
  EXPECT_EQ(r.find("b"), nullptr);
  ASSERT_NE(r.find("a"), nullptr) << "its connection is still open";
  EXPECT_EQ(r.hold_count(), 1u);
}

}  // namespace
}  // namespace shmd
