#pragma once
/// Daemon: the whole broker as a library object, so tests can run it in-process and main stays thin.

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <optional>

#include "shm/result.hpp"
#include "shmd/config.hpp"
#include "shmd/fd_store.hpp"
#include "shmd/registry.hpp"
#include "shmd/request_handler.hpp"
#include "shmd/server.hpp"
#include "shmd/systemd.hpp"

namespace shmd {

/// The version string shmd reports.
const char* version() noexcept;

/// Owns the registry, the event loop and the server. Construct with create(), then run().
/// Under systemd it takes its socket from LISTEN_FDS, restores segments from the fd store,
/// and reports READY=1 and STATUS=; without systemd all of that is off.
class Daemon {
 public:
  /// Takes or binds the socket (refusing if another daemon answers there), restores stored
  /// segments, and prepares to serve.
  static shm::Result<std::unique_ptr<Daemon>> create(Config config);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  /// Stops, drops every session and removes the socket file (unless systemd owns it).
  ~Daemon();

  /// Serves until stop() (or SIGINT/SIGTERM when config.handle_signals). Single-threaded.
  void run();
  /// Asks run() to return. Safe from any thread.
  void stop();

 private:
  explicit Daemon(Config config);
  shm::UniqueFd adopt_fds();
  void schedule_status();
  /// Arms the hold timer for the earliest hold deadline, unless it is set to fire sooner already.
  void schedule_hold_expiry();
  [[nodiscard]] std::string status_line() const;

  Config config_;                                   ///< settings
  std::shared_ptr<spdlog::logger> log_;             ///< never null (a silent logger if none was given)
  Notifier notifier_;                               ///< sd_notify; disabled without NOTIFY_SOCKET
  Registry registry_;                               ///< outlives the io_context, which may hold sessions
  std::unique_ptr<FdStore> fd_store_;               ///< persistence, only under a service manager
  RequestHandler handler_;                          ///< executes requests
  asio::io_context io_;                             ///< the event loop; destroying it ends pending sessions
  std::optional<asio::signal_set> signals_;         ///< SIGINT/SIGTERM, when handled
  std::optional<asio::steady_timer> status_timer_;  ///< periodic STATUS= updates
  std::optional<asio::steady_timer> grace_timer_;   ///< sweeps unclaimed restored segments
  std::optional<asio::steady_timer> hold_timer_;    ///< ends holds at their deadlines
  bool hold_timer_armed_ = false;                   ///< a wait on hold_timer_ is pending
  std::optional<Server> server_;                    ///< the accept loop
  std::size_t restored_ = 0;                        ///< segments restored at start
  std::string last_status_;                         ///< last STATUS= sent
};

}  // namespace shmd
