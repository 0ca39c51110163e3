#pragma once
/// Mapping: sole owner of one mmap'd region.

#include <cstddef>
#include <span>
#include <system_error>
#include <utility>

#include "shm/access_mode.hpp"

namespace shm {

/// Owns a shared mapping of a file descriptor and unmaps it on destruction. Move-only.
class Mapping {
 public:
  /// An empty mapping.
  Mapping() noexcept = default;
  /// Maps `size` bytes of `fd` from offset 0 with MAP_SHARED; sets `ec` and returns empty on failure.
  /// A mapping of a huge page (2 MiB) or more starts at a huge-page-aligned address, so that the
  /// segment's huge pages, if it has them, are mapped as such.
  static Mapping map(int fd, std::size_t size, AccessMode access, std::error_code& ec) noexcept;

  Mapping(Mapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  /// First byte of the mapping (nullptr if empty).
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  /// Length of the mapping in bytes.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The whole mapping as bytes.
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  /// True when something is mapped.
  explicit operator bool() const noexcept { return data_ != nullptr; }
  /// Unmaps (if mapped).
  void reset() noexcept;
  /// Gives the region up without unmapping it (it stays mapped until the process ends, unless
  /// the caller unmaps it); returns its first byte.
  [[nodiscard]] std::byte* release() noexcept {
    size_ = 0;
    return std::exchange(data_, nullptr);
  }

 private:
  Mapping(std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  std::byte* data_ = nullptr;  ///< start of the mapped region
  std::size_t size_ = 0;       ///< its length
};

}  // namespace shm
