#pragma once
/// EventHub: hands each registry change to every subscriber that may see it. Never sees a socket.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shmd/credentials.hpp"
#include "shmd/event_sink.hpp"
#include "shmd/subscriber.hpp"

namespace shmd {

/// The registry's EventSink. Subscribers are owned by their sessions; the hub keeps weak
/// references and forgets the ones whose session ended. Publishing never waits: it only appends
/// to bounded queues.
class EventHub final : public EventSink {
 public:
  /// Each subscriber's queue holds at most `queue_limit` events.
  explicit EventHub(std::size_t queue_limit = kDefaultSubscriberEvents) : queue_limit_(queue_limit) {}

  /// A new subscriber that follows what `who` may see of segments named `prefix`..., framing its
  /// events with `request_id`; it is fed until the caller drops it.
  std::shared_ptr<Subscriber> subscribe(Credentials who, std::uint64_t request_id, std::string prefix,
                                        bool attachments);
  /// Queues `event` for every subscriber that wants it.
  void publish(const RegistryEvent& event) override;

  /// Subscribers still fed.
  [[nodiscard]] std::size_t subscriber_count() const noexcept;
  /// Subscribers still fed that `uid` subscribed.
  [[nodiscard]] std::size_t subscriber_count(uid_t uid) const noexcept;
  /// The per-subscriber queue limit.
  [[nodiscard]] std::size_t queue_limit() const noexcept { return queue_limit_; }

 private:
  std::size_t queue_limit_;                             ///< events per subscriber queue
  std::vector<std::weak_ptr<Subscriber>> subscribers_;  ///< in subscription order
};

}  // namespace shmd
