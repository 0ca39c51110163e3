#pragma once
/// UniqueFd: sole owner of one file descriptor.

#include <unistd.h>

#include <utility>

namespace shm {

/// Owns a file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  /// An empty handle (owns nothing).
  UniqueFd() noexcept = default;
  /// Takes ownership of `fd` (a negative value means empty).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  /// The descriptor, still owned by this handle (-1 if empty).
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// True when a descriptor is owned.
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership and returns the descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the owned descriptor (if any) and takes `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;  ///< the owned descriptor, or -1
};

}  // namespace shm
