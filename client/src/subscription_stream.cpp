#include "subscription_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "connection.hpp"
#include "protocol.hpp"
#include "shmd.pb.h"

namespace shm::detail {
namespace {

namespace pb = shmd::v1;

std::optional<EventKind> kind_from_wire(pb::EventKind kind) noexcept {
  switch (kind) {
    case pb::EVENT_CREATED: return EventKind::created;
    case pb::EVENT_REMOVED: return EventKind::removed;
    case pb::EVENT_FREED: return EventKind::freed;
    case pb::EVENT_MODE_CHANGED: return EventKind::mode_changed;
    case pb::EVENT_ATTACHED: return EventKind::attached;
    case pb::EVENT_DETACHED: return EventKind::detached;
    case pb::EVENT_OVERFLOW: return EventKind::overflow;
    default: return std::nullopt;
  }
}

}  // namespace

SubscriptionStream::SubscriptionStream(UniqueFd socket, wire::FrameDecoder decoder, std::uint64_t request_id,
                                       std::uint32_t queue_limit)
    : socket_(std::move(socket)), decoder_(std::move(decoder)), request_id_(request_id), queue_limit_(queue_limit) {}

bool SubscriptionStream::buffered() const noexcept {
  // A frame's length prefix is at most 10 bytes; anything beyond a whole frame is checked by decode().
  return decoder_.buffered() > 0;
}

SubscriptionStream::Decoded SubscriptionStream::decode(std::optional<Event>& event, std::error_code& ec) {
  std::string payload;
  if (!decoder_.next(payload)) {
    if (decoder_.error() == wire::FrameError::none) return Decoded::none;
    close();
    fail(ec, Errc::protocol_error, "bad event frame from shmd: " + std::string(wire::to_string(decoder_.error())));
    return Decoded::broken;
  }
  pb::Response response;
  if (!response.ParseFromString(payload) || response.request_id() != request_id_ || !response.has_event()) {
    close();
    fail(ec, Errc::protocol_error, "shmd sent something other than an event on a subscribed connection");
    return Decoded::broken;
  }
  const pb::Event& wire = response.event();
  const auto kind = kind_from_wire(wire.kind());
  if (!kind) return Decoded::skipped;  // a kind from a newer daemon: not ours to understand
  if ((*kind == EventKind::overflow) == wire.has_segment()) {
    close();
    fail(ec, Errc::protocol_error, "shmd sent an event without a segment, or an overflow with one");
    return Decoded::broken;
  }
  Event out;
  out.kind = *kind;
  out.missed = wire.missed();
  if (wire.has_segment()) out.segment = from_wire(wire.segment());
  event = std::move(out);
  return Decoded::event;
}

int SubscriptionStream::read_available(std::error_code& ec) {
  std::array<char, std::size_t{16} * 1024> buffer;
  for (;;) {
    // No control buffer: a descriptor the daemon should not have sent is closed by the kernel.
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n > 0) {
      decoder_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      return 1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    const std::string why = n == 0 ? std::string("closed the event stream") : std::string(std::strerror(errno));
    close();
    fail(ec, Errc::connection_lost, "shmd " + why + " (it stopped or restarted: subscribe again, then list)");
    return -1;
  }
}

std::optional<Event> SubscriptionStream::next(std::chrono::milliseconds timeout, std::error_code& ec) {
  ec.clear();
  if (!socket_) {
    fail(ec, Errc::connection_lost, "the subscription is closed");
    return std::nullopt;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = timeout >= std::chrono::hours(24 * 365) ? Clock::time_point::max() : Clock::now() + timeout;
  for (;;) {
    std::optional<Event> event;
    Decoded got;
    while ((got = decode(event, ec)) == Decoded::skipped) {
    }
    if (got == Decoded::event) return event;
    if (got == Decoded::broken) return std::nullopt;
    // No whole frame buffered: read what is there without waiting, and decode it first.
    const int read = read_available(ec);
    if (read < 0) return std::nullopt;
    const auto now = Clock::now();
    if (read > 0 && now < deadline) continue;
    if (read > 0) {
      while ((got = decode(event, ec)) == Decoded::skipped) {
      }
      if (got == Decoded::event) return event;
      return std::nullopt;  // the deadline passed: a daemon that floods garbage cannot keep us here
    }
    if (now >= deadline) return std::nullopt;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd p{socket_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX))) < 0 && errno != EINTR) {
      fail(ec, errc_from_errno(errno), std::string("poll: ") + std::strerror(errno));
      return std::nullopt;
    }
  }
}

}  // namespace shm::detail
