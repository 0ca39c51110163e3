#pragma once
/// ServiceManager: plays systemd's part for shmd in tests, without PID 1. It owns the listening
/// socket (socket activation), a NOTIFY_SOCKET, and an fd store, and restarts shmd with
/// LISTEN_FDS / LISTEN_FDNAMES / LISTEN_PID exactly as systemd would.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shm/unique_fd.hpp"

namespace shm::test {

/// A fake service manager supervising one shmd. Like PID 1 it reads notifications all the time
/// (on its own thread): shmd's sd_notify() blocks if nobody drains the datagram queue.
class ServiceManager {
 public:
  /// FileDescriptorStoreMax= of the shipped shmd.service.
  static constexpr std::size_t kUnitFdStoreMax = 65536;
  /// How shmd is told the fd store's capacity.
  enum class StoreSizeHint {
    option,       ///< --fd-store-max N, as shmd.service does
    environment,  ///< $FDSTORE=N, as systemd 254 and later do
    none,         ///< not at all, as a unit that passes nothing under systemd 252
  };

  /// Binds the service socket and the notify socket in a fresh temporary directory. The fd store
  /// keeps at most `fd_store_max` fds and closes the rest, as systemd does past FileDescriptorStoreMax=.
  explicit ServiceManager(std::vector<std::string> extra_args = {}, std::size_t fd_store_max = kUnitFdStoreMax,
                          StoreSizeHint hint = StoreSizeHint::option);
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
  /// Waits until every notification sent so far has been processed (FDSTORE, FDSTOREREMOVE, STATUS).
  void drain();

  /// The service socket clients connect to.
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_path_; }
  /// How many stored fds have a name starting with `prefix`.
  [[nodiscard]] std::size_t stored(const std::string& prefix) const;
  /// How many fds the store closed because it was full.
  [[nodiscard]] std::size_t refused() const;
  /// The last STATUS= line.
  [[nodiscard]] std::string status() const;
  /// Whether READY=1 came from the current process.
  [[nodiscard]] bool ready() const;
  /// The daemon's log so far.
  [[nodiscard]] std::string log() const;
  /// The daemon's pid, or -1.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  bool handle_one_message();
  void pump();

  std::vector<std::string> extra_args_;         ///< added to shmd's command line
  std::size_t fd_store_max_;                    ///< FileDescriptorStoreMax=
  StoreSizeHint hint_;                          ///< how shmd learns fd_store_max_
  std::size_t refused_ = 0;                     ///< fds closed because the store was full
  std::filesystem::path dir_;                   ///< temporary directory
  std::string socket_path_;                     ///< service socket
  std::string notify_path_;                     ///< NOTIFY_SOCKET
  UniqueFd listener_;                           ///< socket-activation listener, kept across restarts
  UniqueFd notify_;                             ///< datagram socket shmd notifies
  UniqueFd wake_read_, wake_write_;             ///< stops the pump thread
  mutable std::mutex mutex_;                    ///< guards what the pump thread writes
  std::condition_variable changed_;             ///< signalled after each notification
  std::multimap<std::string, UniqueFd> store_;  ///< FDNAME -> stored fds
  std::string status_;                          ///< last STATUS=
  bool ready_ = false;                          ///< READY=1 seen from the current process
  pid_t pid_ = -1;                              ///< running shmd
  std::thread pump_;                            ///< reads notifications, like PID 1
};

}  // namespace shm::test
