#pragma once
/// ConnectionLimiter: caps client connections in total and per uid, so idle or hostile clients
/// cannot exhaust the daemon's fds.

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "shm/result.hpp"

namespace shmd {

/// Counts open connections. Shared (shared_ptr) by the server and every session's slot.
class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  /// Holds one counted connection; gives it back when destroyed. Move-only.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&&) noexcept = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class ConnectionLimiter;
    Slot(std::shared_ptr<ConnectionLimiter> owner, uid_t uid) : owner_(std::move(owner)), uid_(uid) {}
    std::shared_ptr<ConnectionLimiter> owner_;  ///< null once released or moved from
    uid_t uid_ = 0;                             ///< whose count this is
  };

  /// Limits of `total` connections and `per_uid` per non-root uid.
  ConnectionLimiter(std::size_t total, std::size_t per_uid) : total_(total), per_uid_(per_uid) {}

  /// A slot for a new connection of `uid`, or why there is none (limit_exceeded).
  shm::Result<Slot> admit(uid_t uid);

 private:
  void release(uid_t uid) noexcept;

  std::size_t total_;                              ///< cap on all connections
  std::size_t per_uid_;                            ///< cap per non-root uid
  std::size_t active_ = 0;                         ///< open connections
  std::unordered_map<uid_t, std::size_t> by_uid_;  ///< open connections per uid
};

}  // namespace shmd
