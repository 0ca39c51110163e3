#pragma once
/// detail::SubscriptionStream: the socket of one Subscription and the event frames read from it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

#include "shm/event.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/framing.hpp"

namespace shm::detail {

/// Reads event frames without ever blocking past a deadline: bytes are read only when poll()
/// says they are there, and a partial frame waits in the decoder for the rest.
class SubscriptionStream {
 public:
  /// Reads events from `socket`, starting with what `decoder` holds already; only Responses
  /// carrying `request_id` (the Subscribe's) are events of this stream.
  SubscriptionStream(UniqueFd socket, wire::FrameDecoder decoder, std::uint64_t request_id, std::uint32_t queue_limit);

  /// See Subscription::next(). Closes the socket when the stream ends or breaks.
  std::optional<Event> next(std::chrono::milliseconds timeout, std::error_code& ec);
  /// The socket, or -1 once closed.
  [[nodiscard]] int fd() const noexcept { return socket_.get(); }
  /// True when a whole frame is buffered already.
  [[nodiscard]] bool buffered() const noexcept;
  /// The daemon's queue limit for this subscriber.
  [[nodiscard]] std::uint32_t queue_limit() const noexcept { return queue_limit_; }
  /// Closes the socket.
  void close() noexcept { socket_.reset(); }

 private:
  /// What decode() found.
  enum class Decoded { event, none, skipped, broken };
  /// Decodes one buffered frame into `event`: Decoded::none when no whole frame is buffered,
  /// skipped for a kind this library does not know, broken (and closed, `ec` set) otherwise.
  Decoded decode(std::optional<Event>& event, std::error_code& ec);
  /// Reads what the socket holds without waiting: 1 if it read bytes, 0 if there were none, -1
  /// at EOF or on an error (closed, `ec` set).
  int read_available(std::error_code& ec);

  UniqueFd socket_;             ///< the subscribed connection
  wire::FrameDecoder decoder_;  ///< bytes read and not yet decoded
  std::uint64_t request_id_;    ///< the Subscribe's, which every event echoes
  std::uint32_t queue_limit_;   ///< from the SubscribeResponse
};

}  // namespace shm::detail
