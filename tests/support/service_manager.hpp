#pragma once
/// ServiceManager: plays systemd's part for shmd in tests, without PID 1. It owns the listening
/// socket (socket activation), a NOTIFY_SOCKET, and an fd store, and restarts shmd with
/// LISTEN_FDS / LISTEN_FDNAMES / LISTEN_PID exactly as systemd would.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "shm/unique_fd.hpp"

namespace shm::test {

/// A fake service manager supervising one shmd.
class ServiceManager {
 public:
  /// Binds the service socket and the notify socket in a fresh temporary directory.
  explicit ServiceManager(std::vector<std::string> extra_args = {});
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;
  /// Kills shmd (if running) and removes the directory.
  ~ServiceManager();

  /// Starts shmd with the listener and every stored fd; returns once it sent READY=1.
  void start();
  /// SIGKILLs shmd and reaps it; the fd store keeps everything (Restart=on-failure).
  void kill9();
  /// SIGTERMs shmd and returns its wait status.
  int terminate();
  /// Processes notifications already queued (FDSTORE, FDSTOREREMOVE, STATUS).
  void drain();

  /// The service socket clients connect to.
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_path_; }
  /// How many stored fds have a name starting with `prefix`.
  [[nodiscard]] std::size_t stored(const std::string& prefix) const;
  /// The last STATUS= line.
  [[nodiscard]] const std::string& status() const noexcept { return status_; }
  /// Whether READY=1 came from the current process.
  [[nodiscard]] bool ready() const noexcept { return ready_; }
  /// The daemon's log so far.
  [[nodiscard]] std::string log() const;
  /// The daemon's pid, or -1.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  bool handle_one_message();

  std::vector<std::string> extra_args_;           ///< added to shmd's command line
  std::filesystem::path dir_;                     ///< temporary directory
  std::string socket_path_;                       ///< service socket
  std::string notify_path_;                       ///< NOTIFY_SOCKET
  UniqueFd listener_;                             ///< socket-activation listener, kept across restarts
  UniqueFd notify_;                               ///< datagram socket shmd notifies
  std::multimap<std::string, UniqueFd> store_;    ///< FDNAME -> stored fds
  std::string status_;                            ///< last STATUS=
  bool ready_ = false;                            ///< READY=1 seen from the current process
  pid_t pid_ = -1;                                ///< running shmd
};

}  // namespace shm::test
