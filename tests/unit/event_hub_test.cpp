// Registry events as subscribers see them, through the RequestHandler and the EventHub, with no
// socket: which changes produce which events, the prefix and access filters, and the bounded queue
// with its one overflow notice.

#include "shmd/event_hub.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "shm/wire/framing.hpp"
#include "shmd.pb.h"
#include "shmd/registry.hpp"
#include "shmd/request_handler.hpp"

namespace shmd {
namespace {

namespace pb = shmd::v1;

const Credentials kOwner{1000, 1000, 11, {}};
const Credentials kStranger{2000, 2000, 22, {}};

/// Drives a RequestHandler as sessions would, one client id per caller.
class EventHubTest : public ::testing::Test {
 protected:
  explicit EventHubTest(std::size_t queue = 16, Limits limits = {})
      : registry_(limits), handler_(registry_, "test", queue) {}

  Reply call(ClientId client, const Credentials& who, pb::Request request) {
    request.set_request_id(next_id_++);
    Reply reply = handler_.handle(RequestContext{client, who}, request);
    EXPECT_FALSE(reply.response.has_error()) << reply.response.error().message();
    return reply;
  }
  std::shared_ptr<Subscriber> subscribe(const Credentials& who, std::string prefix = {}, bool attachments = false) {
    pb::Request r;
    r.mutable_subscribe()->set_prefix(std::move(prefix));
    r.mutable_subscribe()->set_attachments(attachments);
    Reply reply = call(99, who, r);
    EXPECT_TRUE(reply.response.has_subscribe());
    EXPECT_TRUE(reply.subscriber);
    return reply.subscriber;
  }
  std::uint64_t create(ClientId client, const std::string& name, std::uint32_t mode = 0600) {
    pb::Request r;
    auto* c = r.mutable_create();
    c->set_name(name);
    c->set_typecode("i");
    c->set_kind(pb::VALUE);
    c->set_length(1);
    c->set_mode(mode);
    return call(client, kOwner, r).response.create().segment().id();
  }
  void remove(const std::string& name) {
    pb::Request r;
    r.mutable_remove()->set_name(name);
    call(1, kOwner, r);
  }
  void detach(ClientId client, std::uint64_t id) {
    pb::Request r;
    r.mutable_detach()->set_id(id);
    call(client, kOwner, r);
  }
  /// Every frame `s` has waiting, decoded, as "kind name refcount" (or "overflow N").
  static std::vector<std::string> drain(Subscriber& s) {
    std::vector<std::string> out;
    std::string frame;
    while (s.pop(frame)) {
      shm::wire::FrameDecoder decoder;
      decoder.feed(frame);
      std::string payload;
      EXPECT_TRUE(decoder.next(payload));
      pb::Response response;
      EXPECT_TRUE(response.ParseFromString(payload));
      EXPECT_TRUE(response.has_event());
      const pb::Event& e = response.event();
      if (e.kind() == pb::EVENT_OVERFLOW) {
        out.push_back("overflow " + std::to_string(e.missed()));
        continue;
      }
      out.push_back(std::string(pb::EventKind_Name(e.kind())) + " " + e.segment().name() + " " +
                    std::to_string(e.segment().refcount()));
    }
    return out;
  }

  /// The reply to a Subscribe of `who` on connection `client`, refused or not.
  Reply try_subscribe(ClientId client, const Credentials& who) {
    pb::Request r;
    r.set_request_id(next_id_++);
    r.mutable_subscribe();
    return handler_.handle(RequestContext{client, who}, r);
  }

  Registry registry_;
  RequestHandler handler_;
  std::uint64_t next_id_ = 1;
};

TEST_F(EventHubTest, LifetimeOfASegmentIsCreatedRemovedFreed) {
  auto s = subscribe(kOwner);
  const std::uint64_t id = create(1, "a");
  remove("a");
  detach(1, id);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"EVENT_CREATED a 1", "EVENT_REMOVED a 1", "EVENT_FREED a 0"}));
}

TEST_F(EventHubTest, AttachmentsAreReportedOnlyWhenAsked) {
  auto quiet = subscribe(kOwner);
  auto chatty = subscribe(kOwner, "", true);
  const std::uint64_t id = create(1, "a");
  pb::Request attach;
  attach.mutable_attach()->set_name("a");
  call(2, kOwner, attach);
  detach(2, id);
  handler_.client_closed(1);  // a closed connection gives its reference back
  EXPECT_EQ(drain(*quiet), (std::vector<std::string>{"EVENT_CREATED a 1"}));
  EXPECT_EQ(drain(*chatty), (std::vector<std::string>{"EVENT_CREATED a 1", "EVENT_ATTACHED a 2", "EVENT_DETACHED a 1",
                                                      "EVENT_DETACHED a 0"}));
}

TEST_F(EventHubTest, PrefixFiltersByNameStart) {
  auto s = subscribe(kOwner, "job.");
  create(1, "job.1");
  create(1, "jobs");
  create(1, "other");
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"EVENT_CREATED job.1 1"}));
}

TEST_F(EventHubTest, SegmentsTheSubscriberMayNotReadProduceNoEvents) {
  auto stranger = subscribe(kStranger);
  create(1, "private", 0600);
  create(1, "public", 0644);
  EXPECT_EQ(drain(*stranger), (std::vector<std::string>{"EVENT_CREATED public 1"}));
}

TEST_F(EventHubTest, ModeChangeIsShownToWhoCouldReadBeforeOrAfter) {
  auto stranger = subscribe(kStranger);
  create(1, "p", 0600);
  pb::Request chmod;
  chmod.mutable_chmod()->set_name("p");
  chmod.mutable_chmod()->set_mode(0644);
  call(1, kOwner, chmod);
  chmod.mutable_chmod()->set_mode(0600);
  call(1, kOwner, chmod);
  chmod.mutable_chmod()->set_mode(0640);
  call(1, kOwner, chmod);
  EXPECT_EQ(drain(*stranger), (std::vector<std::string>{"EVENT_MODE_CHANGED p 1", "EVENT_MODE_CHANGED p 1"}));
}

TEST_F(EventHubTest, BadPrefixIsRefused) {
  pb::Request r;
  r.set_request_id(7);
  r.mutable_subscribe()->set_prefix("no/slash");
  const Reply reply = handler_.handle(RequestContext{5, kOwner}, r);
  EXPECT_EQ(reply.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_FALSE(reply.subscriber);
}

TEST_F(EventHubTest, FullQueueDropsNewEventsAndSaysHowManyOnce) {
  auto s = subscribe(kOwner);  // the queue holds 16
  for (int i = 0; i < 20; ++i) create(1, "s" + std::to_string(i));
  EXPECT_EQ(s->queued(), 16U);
  EXPECT_EQ(s->missed(), 4U);
  std::string frame;
  ASSERT_TRUE(s->pop(frame));  // room for one: the next event comes after the notice
  create(1, "late");
  const auto rest = drain(*s);
  ASSERT_EQ(rest.size(), 17U);
  EXPECT_EQ(rest[14], "EVENT_CREATED s15 1");
  EXPECT_EQ(rest[15], "overflow 4");
  EXPECT_EQ(rest[16], "EVENT_CREATED late 1");
}

TEST_F(EventHubTest, OverflowIsReportedWhenTheQueueRunsEmpty) {
  auto s = subscribe(kOwner);
  for (int i = 0; i < 18; ++i) create(1, "s" + std::to_string(i));
  const auto all = drain(*s);
  ASSERT_EQ(all.size(), 17U);
  EXPECT_EQ(all.back(), "overflow 2");
  EXPECT_EQ(s->missed(), 0U);
  EXPECT_TRUE(drain(*s).empty());
}

TEST_F(EventHubTest, QueueStaysBoundedUnderThousandsOfEvents) {
  auto s = subscribe(kOwner, "", true);
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t id = create(1, "n" + std::to_string(i % 7));
    remove("n" + std::to_string(i % 7));
    detach(1, id);
  }
  EXPECT_EQ(s->queued(), 16U);
  EXPECT_LT(s->queued_bytes(), 16U * 512U);
  EXPECT_EQ(s->missed(), 5000U * 4U - 16U);  // created, removed, detached, freed each
}

TEST_F(EventHubTest, DroppedSubscriberIsForgotten) {
  auto s = subscribe(kOwner);
  EXPECT_EQ(handler_.events().subscriber_count(), 1U);
  s.reset();
  create(1, "a");
  EXPECT_EQ(handler_.events().subscriber_count(), 0U);
}

/// A daemon that feeds at most three event streams, two per non-root uid.
class SubscriberCapTest : public EventHubTest {
 protected:
  SubscriberCapTest() : EventHubTest(16, capped()) {}
  static Limits capped() {
    Limits limits;
    limits.max_subscribers = 3;
    limits.max_subscribers_per_uid = 2;
    return limits;
  }
};

TEST_F(SubscriberCapTest, AUidPastItsQuotaIsRefusedAndOthersAreNot) {
  const Reply first = try_subscribe(1, kOwner);
  const Reply second = try_subscribe(2, kOwner);
  ASSERT_TRUE(first.subscriber && second.subscriber);
  const Reply third = try_subscribe(3, kOwner);
  EXPECT_EQ(third.response.error().code(), pb::LIMIT_EXCEEDED);
  EXPECT_EQ(third.response.error().message(), "uid 1000 holds max-subscribers-per-uid (2) event streams already");
  EXPECT_FALSE(third.subscriber);
  EXPECT_TRUE(try_subscribe(4, kStranger).subscriber);  // another uid has its own quota
}

TEST_F(SubscriberCapTest, TheDaemonWideCapHoldsForRootToo) {
  const Credentials root{0, 0, 1, {}};
  std::vector<std::shared_ptr<Subscriber>> held;
  for (ClientId c = 1; c <= 3; ++c) {
    Reply r = try_subscribe(c, root);  // root has no per-uid quota
    ASSERT_TRUE(r.subscriber) << r.response.error().message();
    held.push_back(r.subscriber);
  }
  const Reply refused = try_subscribe(4, root);
  EXPECT_EQ(refused.response.error().code(), pb::LIMIT_EXCEEDED);
  EXPECT_EQ(refused.response.error().message(), "the daemon feeds max-subscribers (3) event streams already");
}

TEST_F(SubscriberCapTest, AnEndedStreamGivesItsPlaceBack) {
  Reply first = try_subscribe(1, kOwner);
  const Reply second = try_subscribe(2, kOwner);
  ASSERT_TRUE(first.subscriber && second.subscriber);
  first.subscriber.reset();  // its session ended
  EXPECT_TRUE(try_subscribe(3, kOwner).subscriber);
}

}  // namespace
}  // namespace shmd
