#pragma once
/// Subscription: a stream of registry events from shmd, on a connection of its own.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "shm/event.hpp"

namespace shm {

namespace detail {
class SubscriptionStream;
}  // namespace detail

class Client;

/// What a Subscription follows.
struct SubscribeOptions {
  std::string prefix;        ///< only segments whose names start with it ("" for all)
  bool attachments = false;  ///< also attached/detached events: every reference change
};

/// Events about the segments the caller may read (the r bit), from subscription on; nothing is
/// replayed, so subscribe first and list second to know the whole state. Owns its connection:
/// destroying it unsubscribes. Move-only, not thread-safe (one reader at a time). The stream ends
/// (Errc::connection_lost) when the daemon stops or restarts: subscribe again then.
class Subscription {
 public:
  /// An empty subscription (valid() is false).
  Subscription() noexcept;
  Subscription(Subscription&&) noexcept;
  Subscription& operator=(Subscription&&) noexcept;
  /// Closes the connection, which ends the subscription.
  ~Subscription();

  /// Waits up to `timeout` (zero: not at all) for the next event. nullopt with `ec` clear when
  /// none came in time; with `ec` set when the stream ended (Errc::connection_lost: the daemon
  /// closed it) or the daemon sent something that is not an event (Errc::protocol_error), after
  /// which the subscription is closed. Never blocks longer than `timeout`, also when fd() was
  /// readable with only part of a frame there.
  std::optional<Event> next(std::chrono::milliseconds timeout, std::error_code& ec);
  /// Throwing form of next(); throws shm::Error.
  std::optional<Event> next(std::chrono::milliseconds timeout);

  /// The connection's descriptor, for poll/epoll/select (readable: call next(0ms) until it
  /// returns nullopt, since several events may arrive together); -1 when closed. Owned here.
  [[nodiscard]] int fd() const noexcept;
  /// True when an event is already buffered here, so waiting on fd() first could sleep past it.
  [[nodiscard]] bool buffered() const noexcept;
  /// True until closed (by close(), the end of the stream, or an error).
  [[nodiscard]] bool valid() const noexcept;
  /// How many events the daemon queues for this subscriber before it drops and sends an overflow.
  [[nodiscard]] std::uint32_t queue_limit() const noexcept;
  /// Ends the subscription now.
  void close() noexcept;

 private:
  friend class Client;
  explicit Subscription(std::unique_ptr<detail::SubscriptionStream> stream) noexcept;

  std::unique_ptr<detail::SubscriptionStream> stream_;  ///< the connection and its partial frames
};

}  // namespace shm
