#pragma once
/// Session: one client connection. The one place where Asio meets the protocol.

#include <spdlog/logger.h>
#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <string>

#include "shm/wire/framing.hpp"
#include "shmd/connection_limiter.hpp"
#include "shmd/request_handler.hpp"

namespace shmd {

/// Reads framed requests, hands them to the RequestHandler, writes framed replies (with an fd by
/// SCM_RIGHTS where the reply hands over a segment). A failing session logs, closes itself, and
/// gives back every reference its client held; nothing else is affected. After a Subscribe it
/// writes its Subscriber's events instead, and reads only to notice that the peer is gone.
class Session {
 public:
  /// Serves `socket` for client `ctx.client`, holding its connection `slot`. A frame left
  /// incomplete for `frame_timeout` ends the session (a stuck or slow-loris client).
  Session(asio::local::stream_protocol::socket socket, RequestHandler& handler, RequestContext ctx,
          ConnectionLimiter::Slot slot, std::chrono::milliseconds frame_timeout, spdlog::logger& log);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Drops every reference the client still holds.
  ~Session();

  /// Serves requests until the peer closes, misbehaves, or the daemon stops.
  asio::awaitable<void> run();
  /// Sends `reply` (a RequestHandler::refusal) on a connection that is not served, without
  /// waiting for the socket, and closes it.
  static void refuse(asio::local::stream_protocol::socket socket, const Reply& reply);

 private:
  /// Sends one reply; false if the peer is gone.
  asio::awaitable<bool> send(const Reply& reply);
  /// Sends one framed message, `fd` (or -1) with its first byte; false if the peer is gone.
  asio::awaitable<bool> send_frame(const std::string& frame, int fd);
  /// Serves subscriber_ until the peer closes or sends anything (which a subscriber may not).
  asio::awaitable<void> stream_events();
  /// Writes subscriber_'s frames as they come; the socket's pace never holds anyone else up,
  /// since the subscriber's bounded queue absorbs what the socket does not take.
  asio::awaitable<void> write_events();
  /// Returns once the peer sends a byte or closes.
  asio::awaitable<void> watch_peer();
  /// Arms or disarms the partial-frame deadline after each read.
  void watch_partial_frame();

  asio::local::stream_protocol::socket socket_;  ///< the connection
  RequestHandler& handler_;                      ///< executes requests
  RequestContext ctx_;                           ///< client id and credentials
  ConnectionLimiter::Slot slot_;                 ///< counts this connection against the caps
  std::chrono::milliseconds frame_timeout_;      ///< how long half a frame may sit
  asio::steady_timer frame_timer_;               ///< fires when half a frame sat too long
  bool timer_armed_ = false;                     ///< frame_timer_ is waiting
  spdlog::logger& log_;                          ///< daemon log
  shm::wire::FrameDecoder decoder_;              ///< splits the byte stream into frames
  std::shared_ptr<Subscriber> subscriber_;       ///< set once the client subscribed
  asio::steady_timer events_ready_;              ///< cancelled when subscriber_ queues a frame
};

}  // namespace shmd
