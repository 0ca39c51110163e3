#pragma once
/// Session: one client connection. The one place where Asio meets the protocol.

#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>
#include <spdlog/logger.h>

#include <memory>

#include "shm/wire/framing.hpp"
#include "shmd/request_handler.hpp"

namespace shmd {

/// Reads framed requests, hands them to the RequestHandler, writes framed replies (with an fd by
/// SCM_RIGHTS where the reply hands over a segment). A failing session logs, closes itself, and
/// gives back every reference its client held; nothing else is affected.
class Session {
 public:
  /// Serves `socket` for client `ctx.client`.
  Session(asio::local::stream_protocol::socket socket, RequestHandler& handler, Registry& registry,
          RequestContext ctx, spdlog::logger& log);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Drops every reference the client still holds.
  ~Session();

  /// Serves requests until the peer closes, misbehaves, or the daemon stops.
  asio::awaitable<void> run();

 private:
  /// Sends one reply; false if the peer is gone.
  asio::awaitable<bool> send(const Reply& reply);

  asio::local::stream_protocol::socket socket_;  ///< the connection
  RequestHandler& handler_;                      ///< executes requests
  Registry& registry_;                           ///< for releasing references at close
  RequestContext ctx_;                           ///< client id and credentials
  spdlog::logger& log_;                          ///< daemon log
  shm::wire::FrameDecoder decoder_;              ///< splits the byte stream into frames
};

}  // namespace shmd
