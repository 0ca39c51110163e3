#include "shmd/event_hub.hpp"

#include <algorithm>

#include "shmd/protocol.hpp"

namespace shmd {
namespace {

shmd::v1::EventKind to_wire(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::created: return shmd::v1::EVENT_CREATED;
    case EventKind::removed: return shmd::v1::EVENT_REMOVED;
    case EventKind::freed: return shmd::v1::EVENT_FREED;
    case EventKind::mode_changed: return shmd::v1::EVENT_MODE_CHANGED;
    case EventKind::attached: return shmd::v1::EVENT_ATTACHED;
    case EventKind::detached: return shmd::v1::EVENT_DETACHED;
  }
  return shmd::v1::EVENT_KIND_UNSPECIFIED;
}

}  // namespace

std::shared_ptr<Subscriber> EventHub::subscribe(Credentials who, std::uint64_t request_id, std::string prefix,
                                                bool attachments) {
  std::erase_if(subscribers_, [](const std::weak_ptr<Subscriber>& s) { return s.expired(); });
  auto subscriber =
      std::make_shared<Subscriber>(std::move(who), request_id, std::move(prefix), attachments, queue_limit_);
  subscribers_.push_back(subscriber);
  return subscriber;
}

void EventHub::publish(const RegistryEvent& event) {
  if (subscribers_.empty()) return;  // the common case: the attach path pays one test
  shmd::v1::Event wire;
  bool encoded = false;  // most events interest nobody: encode on the first that wants one
  bool stale = false;
  for (const auto& weak : subscribers_) {
    const std::shared_ptr<Subscriber> subscriber = weak.lock();
    if (!subscriber) {
      stale = true;
      continue;
    }
    if (!subscriber->wants(event)) continue;
    if (!encoded) {
      wire.set_kind(to_wire(event.kind));
      to_wire(event.segment, *wire.mutable_segment());
      encoded = true;
    }
    subscriber->push(wire);
  }
  if (stale) std::erase_if(subscribers_, [](const std::weak_ptr<Subscriber>& s) { return s.expired(); });
}

std::size_t EventHub::subscriber_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(subscribers_.begin(), subscribers_.end(), [](const auto& s) { return !s.expired(); }));
}

std::size_t EventHub::subscriber_count(uid_t uid) const noexcept {
  return static_cast<std::size_t>(std::count_if(subscribers_.begin(), subscribers_.end(), [uid](const auto& weak) {
    const auto s = weak.lock();
    return s && s->who().uid == uid;
  }));
}

}  // namespace shmd
