#pragma once
/// SharedFd: one file descriptor owned jointly, closed when its last owner lets go.

#include <memory>
#include <utility>

#include "shm/unique_fd.hpp"

namespace shm {

/// Shared ownership of a file descriptor. The daemon's registry holds a segment's memfd this way,
/// and a reply that passes the memfd holds it too, so the descriptor stays open until the reply is
/// sent even if the segment is freed meanwhile. Copyable; the descriptor itself never changes.
class SharedFd {
 public:
  /// Owns nothing.
  SharedFd() noexcept = default;
  /// Takes over `fd` (empty stays empty).
  SharedFd(UniqueFd fd)  // NOLINT(google-explicit-constructor): a SharedFd is the UniqueFd it took over
      : fd_(fd ? std::make_shared<const UniqueFd>(std::move(fd)) : nullptr) {}
  /// The descriptor, still owned (-1 if empty).
  [[nodiscard]] int get() const noexcept { return fd_ ? fd_->get() : -1; }
  /// True when a descriptor is owned.
  explicit operator bool() const noexcept { return fd_ != nullptr; }
  /// Lets go of this share; the descriptor closes with the last one.
  void reset() noexcept { fd_.reset(); }

 private:
  std::shared_ptr<const UniqueFd> fd_;  ///< the shared owner, or null
};

}  // namespace shm
