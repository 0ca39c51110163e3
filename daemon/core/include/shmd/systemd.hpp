#pragma once
/// Talking to systemd: readiness and status (sd_notify), the fd store, and socket activation.
/// Everything here is off when the daemon was not started by systemd (no NOTIFY_SOCKET,
/// no LISTEN_FDS), so shmd runs the same anywhere.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/result.hpp"
#include "shm/unique_fd.hpp"

namespace shmd {

/// One descriptor systemd handed over at start, with its name (LISTEN_FDNAMES).
struct InheritedFd {
  std::string name;  ///< "shmd.socket" for the listener, or the FDNAME it was stored under
  shm::UniqueFd fd;  ///< the descriptor, now owned by us
};

/// Takes the descriptors systemd passed (sd_listen_fds_with_names) and unsets LISTEN_*.
/// Empty when not socket-activated and nothing was stored.
std::vector<InheritedFd> take_inherited_fds();

/// The fd store's capacity from $FDSTORE, which systemd v254 and later set to FileDescriptorStoreMax=;
/// nothing when it is unset or not a decimal number (systemd 252 does not set it).
std::optional<std::size_t> fd_store_max_from_environment();

/// True when `fd` is a listening AF_UNIX stream socket.
bool is_listening_unix_socket(int fd) noexcept;

/// The notification channel to the service manager. All calls are no-ops when disabled.
class Notifier {
 public:
  /// Enabled when $NOTIFY_SOCKET is set.
  Notifier();
  /// True when a service manager listens.
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  /// READY=1 with a status line.
  void ready(std::string_view status) const;
  /// STATUS=<status>.
  void status(std::string_view status) const;
  /// STOPPING=1.
  void stopping() const;
  /// FDSTORE=1 with FDNAME=name: systemd keeps a duplicate of `fd` across our restarts.
  shm::Result<void> store_fd(std::string_view name, int fd) const;
  /// FDSTOREREMOVE=1 with FDNAME=name: systemd closes its copies.
  void remove_fd(std::string_view name) const;

 private:
  bool enabled_ = false;  ///< NOTIFY_SOCKET was set
};

}  // namespace shmd
