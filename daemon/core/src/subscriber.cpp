#include "shmd/subscriber.hpp"

#include <algorithm>

#include "shm/wire/framing.hpp"
#include "shmd/registry.hpp"

namespace shmd {

Subscriber::Subscriber(Credentials who, std::uint64_t request_id, std::string prefix, bool attachments,
                       std::size_t limit)
    : who_(std::move(who)),
      request_id_(request_id),
      prefix_(std::move(prefix)),
      attachments_(attachments),
      limit_(std::max<std::size_t>(limit, 1)) {}

bool Subscriber::wants(const RegistryEvent& event) const {
  if (!attachments_ && (event.kind == EventKind::attached || event.kind == EventKind::detached)) return false;
  if (!event.segment.name.starts_with(prefix_)) return false;
  // What Info would refuse is not streamed either: attach and detach times tell what a reader
  // does. A mode change is shown to whoever could read the segment before or after it, so a
  // subscriber learns that a segment it followed went out of its sight.
  if (Registry::permits(who_, event.segment, shm::AccessMode::read_only)) return true;
  return event.kind == EventKind::mode_changed &&
         Registry::permits(who_, event.segment, event.previous_mode, shm::AccessMode::read_only);
}

void Subscriber::push(const shmd::v1::Event& event) {
  if (queued_events_ >= limit_) {
    ++missed_;
    return;
  }
  if (missed_ > 0) enqueue_overflow();
  enqueue(event, true);
  if (ready_) ready_();
}

bool Subscriber::pop(std::string& frame) {
  if (queue_.empty() && missed_ > 0) enqueue_overflow();  // the drops were the last news: say so now
  if (queue_.empty()) return false;
  Queued& next = queue_.front();
  frame = std::move(next.frame);
  queued_bytes_ -= frame.size();
  if (next.event) --queued_events_;
  queue_.pop_front();
  return true;
}

void Subscriber::enqueue(const shmd::v1::Event& event, bool counts) {
  response_.set_request_id(request_id_);
  *response_.mutable_event() = event;
  std::string frame;
  shm::wire::append_frame(frame, response_.SerializeAsString());
  queued_bytes_ += frame.size();
  if (counts) ++queued_events_;
  queue_.push_back(Queued{std::move(frame), counts});
}

void Subscriber::enqueue_overflow() {
  shmd::v1::Event notice;
  notice.set_kind(shmd::v1::EVENT_OVERFLOW);
  notice.set_missed(missed_);
  missed_ = 0;
  enqueue(notice, false);
}

}  // namespace shmd
