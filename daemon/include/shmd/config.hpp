#pragma once
/// Config: everything the daemon needs to start.

#include <spdlog/logger.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "shm/busy_poll.hpp"
#include "shm/default_socket_path.hpp"
#include "shmd/limits.hpp"
#include "shmd/subscriber.hpp"

namespace shmd {

/// Daemon settings, filled by main from the command line.
struct Config {
  std::string socket_path = shm::kDefaultSocketPath;  ///< where to listen
  std::uint32_t socket_mode = 0666;                   ///< permission bits of the socket file
  Limits limits;                                      ///< resource limits
  std::shared_ptr<spdlog::logger> logger;             ///< where to log; null = silent
  bool handle_signals = true;                         ///< stop cleanly on SIGINT and SIGTERM
  /// After a restart from the fd store: how long unreferenced ephemeral and removed segments
  /// wait for their clients to reattach before they are released.
  std::chrono::milliseconds restore_grace{std::chrono::seconds(30)};
  /// How long a client may leave a frame half sent before its connection is closed.
  std::chrono::milliseconds frame_timeout{std::chrono::seconds(10)};
  /// Capacity of the service manager's fd store (its FileDescriptorStoreMax=). Under a service
  /// manager, segments are kept in the store only when this is known (non-zero), and creates
  /// beyond what it can keep are refused.
  std::size_t fd_store_max = 0;
  /// How long the event loop keeps polling after a burst of work before it sleeps (0: never
  /// polls). See run_event_loop().
  std::chrono::microseconds busy_poll{shm::kDefaultBusyPoll};
  /// Give segments of a huge page (2 MiB) or more huge pages at create (docs/design.md, "Huge
  /// pages for large segments").
  bool huge_pages = true;
  /// Events that may wait for one slow subscriber before newer ones are dropped (and counted in
  /// one overflow event).
  std::size_t subscriber_events = kDefaultSubscriberEvents;
};

}  // namespace shmd
