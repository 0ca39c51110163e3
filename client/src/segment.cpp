#include "shm/segment.hpp"

#include <unistd.h>

#include <cstddef>

#include "connection.hpp"
#include "shm/client.hpp"
#include "shm/error.hpp"
#include "shm/robust_mutex.hpp"
#include "shm/segment_layout.hpp"

namespace shm {

Segment::Segment(SegmentInfo info, Mapping mapping, std::shared_ptr<detail::Connection> connection,
                 bool read_only) noexcept
    : info_(std::move(info)),
      mapping_(std::move(mapping)),
      connection_(std::move(connection)),
      owner_pid_(::getpid()),
      read_only_(read_only) {}

Segment::Segment(Segment&& other) noexcept
    : info_(std::move(other.info_)),
      mapping_(std::move(other.mapping_)),
      connection_(std::move(other.connection_)),
      owner_pid_(std::exchange(other.owner_pid_, 0)),
      read_only_(other.read_only_) {}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    detach(ignored);
    info_ = std::move(other.info_);
    mapping_ = std::move(other.mapping_);
    connection_ = std::move(other.connection_);
    owner_pid_ = std::exchange(other.owner_pid_, 0);
    read_only_ = other.read_only_;
  }
  return *this;
}

Segment::~Segment() {
  std::error_code ignored;
  detach(ignored);
}

std::span<std::byte> Segment::bytes() const noexcept {
  if (!mapping_) return {};
  return mapping_.bytes().subspan(static_cast<std::size_t>(info_.data_offset), static_cast<std::size_t>(info_.size_bytes));
}

pthread_mutex_t& Segment::mutex() const noexcept {
  return reinterpret_cast<SegmentHeader*>(mapping_.data())->mutex;
}

LockGuard Segment::lock(std::error_code& ec) noexcept {
  if (!mapping_) {
    detail::fail(ec, Errc::invalid_argument, "lock on a detached segment");
    return {};
  }
  if (read_only_) {
    detail::fail(ec, Errc::permission_denied, "segment '" + info_.name + "' is attached read-only and cannot be locked");
    return {};
  }
  const LockState state = lock_robust_mutex(mutex(), ec);
  if (ec) {
    detail::set_last_error_message("cannot lock segment '" + info_.name + "': " + ec.message());
    return {};
  }
  return LockGuard(&mutex(), state == LockState::owner_died);
}

LockGuard Segment::lock() {
  std::error_code ec;
  LockGuard guard = lock(ec);
  if (ec) throw Error(ec, last_error_message());
  return guard;
}

LockGuard Segment::try_lock(std::error_code& ec) noexcept {
  if (!mapping_) {
    detail::fail(ec, Errc::invalid_argument, "try_lock on a detached segment");
    return {};
  }
  if (read_only_) {
    detail::fail(ec, Errc::permission_denied, "segment '" + info_.name + "' is attached read-only and cannot be locked");
    return {};
  }
  const LockState state = try_lock_robust_mutex(mutex(), ec);
  if (ec) {
    detail::set_last_error_message("cannot lock segment '" + info_.name + "': " + ec.message());
    return {};
  }
  if (state == LockState::busy) return {};
  return LockGuard(&mutex(), state == LockState::owner_died);
}

LockGuard Segment::try_lock() {
  std::error_code ec;
  LockGuard guard = try_lock(ec);
  if (ec) throw Error(ec, last_error_message());
  return guard;
}

void Segment::detach(std::error_code& ec) noexcept {
  ec.clear();
  mapping_.reset();
  auto connection = std::move(connection_);
  // A fork()ed child's copy maps the memory, but the reference is its parent's to drop.
  if (!connection || owner_pid_ != ::getpid()) return;
  try {
    connection->detach(info_.id, ec);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
}

void Segment::detach() {
  std::error_code ec;
  detach(ec);
  if (ec) throw Error(ec, "detach '" + info_.name + "': " + last_error_message());
}

void LockGuard::unlock() noexcept {
  if (mutex_ != nullptr) (void)unlock_robust_mutex(*std::exchange(mutex_, nullptr));
}

}  // namespace shm
