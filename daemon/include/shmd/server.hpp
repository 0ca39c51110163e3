#pragma once
/// Server: accepts connections on the daemon's socket and starts a Session for each.

#include <spdlog/logger.h>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include <string>

#include "shm/unique_fd.hpp"
#include "shmd/config.hpp"
#include "shmd/connection_limiter.hpp"
#include "shmd/request_handler.hpp"

namespace shmd {

/// The accept loop. Reads each peer's credentials (SO_PEERCRED) and numbers its connection.
class Server {
 public:
  /// Serves on the already listening socket `listener` with the connection caps and timeouts of
  /// `config`; unlinks `socket_path` (if not empty) when destroyed.
  Server(asio::io_context& io, shm::UniqueFd listener, std::string socket_path, const Config& config,
         RequestHandler& handler, spdlog::logger& log);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  /// Closes the listener and removes the socket file.
  ~Server();

  /// Starts accepting (on the io_context's thread).
  void start();
  /// Stops accepting; existing sessions end when the io_context stops.
  void stop();

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& io_;                             ///< where sessions run
  asio::local::stream_protocol::acceptor acceptor_;  ///< the listening socket
  std::string socket_path_;                          ///< removed at shutdown
  RequestHandler& handler_;                          ///< shared by every session
  spdlog::logger& log_;                              ///< daemon log
  ClientId next_client_ = 1;                         ///< connection numbers, never reused
  std::shared_ptr<ConnectionLimiter> limiter_;       ///< connection caps; sessions may outlive the server
  std::chrono::milliseconds frame_timeout_;          ///< passed to every session
};

}  // namespace shmd
