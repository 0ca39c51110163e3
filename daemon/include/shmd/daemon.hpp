#pragma once
/// Daemon: the whole broker as a library object, so tests can run it in-process and main stays thin.

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <memory>
#include <optional>

#include "shmd/config.hpp"
#include "shmd/registry.hpp"
#include "shmd/request_handler.hpp"
#include "shmd/result.hpp"
#include "shmd/server.hpp"

namespace shmd {

/// The version string shmd reports.
const char* version() noexcept;

/// Owns the registry, the event loop and the server. Construct with create(), then run().
class Daemon {
 public:
  /// Binds the socket (refusing if another daemon answers there) and prepares to serve.
  static Result<std::unique_ptr<Daemon>> create(Config config);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  /// Stops, drops every session and removes the socket file.
  ~Daemon();

  /// Serves until stop() (or SIGINT/SIGTERM when config.handle_signals). Single-threaded.
  void run();
  /// Asks run() to return. Safe from any thread.
  void stop();
  /// The registry (for tests and statistics; touch only from run()'s thread or when stopped).
  [[nodiscard]] const Registry& registry() const noexcept { return registry_; }

 private:
  explicit Daemon(Config config);

  Config config_;                           ///< settings
  std::shared_ptr<spdlog::logger> log_;     ///< never null (a silent logger if none was given)
  Registry registry_;                       ///< outlives the io_context, which may hold sessions
  RequestHandler handler_;                  ///< executes requests
  asio::io_context io_;                     ///< the event loop; destroying it ends pending sessions
  std::optional<asio::signal_set> signals_; ///< SIGINT/SIGTERM, when handled
  std::optional<Server> server_;            ///< the accept loop
};

}  // namespace shmd
