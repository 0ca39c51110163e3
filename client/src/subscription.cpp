#include "shm/subscription.hpp"

#include "connection.hpp"
#include "shm/client.hpp"
#include "shm/names.hpp"
#include "subscription_stream.hpp"

namespace shm {

std::string_view event_kind_name(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::created: return "created";
    case EventKind::removed: return "removed";
    case EventKind::freed: return "freed";
    case EventKind::mode_changed: return "mode_changed";
    case EventKind::attached: return "attached";
    case EventKind::detached: return "detached";
    case EventKind::overflow: return "overflow";
  }
  return "unknown";
}

Subscription::Subscription() noexcept = default;
Subscription::Subscription(Subscription&&) noexcept = default;
Subscription& Subscription::operator=(Subscription&&) noexcept = default;
Subscription::~Subscription() = default;
Subscription::Subscription(std::unique_ptr<detail::SubscriptionStream> stream) noexcept : stream_(std::move(stream)) {}

std::optional<Event> Subscription::next(std::chrono::milliseconds timeout, std::error_code& ec) {
  if (!stream_) {
    detail::fail(ec, Errc::connection_lost, "the subscription is closed");
    return std::nullopt;
  }
  return stream_->next(timeout, ec);
}

std::optional<Event> Subscription::next(std::chrono::milliseconds timeout) {
  std::error_code ec;
  auto event = next(timeout, ec);
  if (ec) throw Error(ec, "subscription: " + last_error_message());
  return event;
}

int Subscription::fd() const noexcept { return stream_ ? stream_->fd() : -1; }
bool Subscription::buffered() const noexcept { return stream_ && stream_->buffered(); }
bool Subscription::valid() const noexcept { return stream_ && stream_->fd() >= 0; }
std::uint32_t Subscription::queue_limit() const noexcept { return stream_ ? stream_->queue_limit() : 0; }

void Subscription::close() noexcept {
  if (stream_) stream_->close();
}

Subscription Client::subscribe(const SubscribeOptions& options, std::error_code& ec) {
  ec.clear();
  if (!options.prefix.empty()) {
    // Said here, before a connection is spent on it; the daemon checks it too.
    if (auto valid = check_segment_name(options.prefix); !valid) {
      detail::fail(ec, Errc::invalid_argument, "prefix: " + valid.failure().message);
      return {};
    }
  }
  auto connection = detail::Connection::open(socket_path(), ec);
  if (ec) return {};
  shmd::v1::Request request;
  request.mutable_subscribe()->set_prefix(options.prefix);
  request.mutable_subscribe()->set_attachments(options.attachments);
  shmd::v1::Response response;
  connection->call(request, response, ec);
  if (ec) return {};
  if (!response.has_subscribe()) {
    detail::fail(ec, Errc::protocol_error, "shmd did not answer Subscribe");
    return {};
  }
  wire::FrameDecoder rest;
  UniqueFd stream = connection->release_stream(rest);
  return Subscription(std::make_unique<detail::SubscriptionStream>(
      std::move(stream), std::move(rest), request.request_id(), response.subscribe().queue_limit()));
}

Subscription Client::subscribe(const SubscribeOptions& options) {
  std::error_code ec;
  Subscription s = subscribe(options, ec);
  throw_if(ec, "subscribe", options.prefix);
  return s;
}

}  // namespace shm
