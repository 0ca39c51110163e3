#include "shm/segment.hpp"

#include <cerrno>
#include <cstddef>
#include <memory>
#include <new>

#include "connection.hpp"
#include "fork_generation.hpp"
#include "shm/client.hpp"
#include "shm/error.hpp"
#include "shm/release_after_unlock.hpp"
#include "shm/robust_mutex.hpp"
#include "shm/segment_layout.hpp"

namespace shm {

Segment::Segment(SegmentInfo info, Mapping mapping, std::shared_ptr<detail::Connection> connection,
                 bool read_only) noexcept
    : info_(std::move(info)),
      mapping_(std::move(mapping)),
      connection_(std::move(connection)),
      owner_generation_(detail::fork_generation()),
      read_only_(read_only) {}

Segment::Segment(Segment&& other) noexcept
    : info_(std::move(other.info_)),
      mapping_(std::move(other.mapping_)),
      connection_(std::move(other.connection_)),
      owner_generation_(std::exchange(other.owner_generation_, 0)),
      read_only_(other.read_only_) {}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    release();
    info_ = std::move(other.info_);
    mapping_ = std::move(other.mapping_);
    connection_ = std::move(other.connection_);
    owner_generation_ = std::exchange(other.owner_generation_, 0);
    read_only_ = other.read_only_;
  }
  return *this;
}

Segment::~Segment() { release(); }

std::shared_ptr<detail::Connection> Segment::unmap() noexcept {
  mapping_.reset();
  auto connection = std::move(connection_);
  // A fork()ed child's copy maps the memory, but the reference is its parent's to drop.
  if (!connection || owner_generation_ != detail::fork_generation()) return nullptr;
  return connection;
}

namespace {

/// A Segment dropped while its lock is held by the dropping thread: its mapping and its
/// reference, kept until that thread releases the lock (robust_fast::run_after_release).
class DropAfterUnlock final : public robust_fast::ReleaseAction {
 public:
  DropAfterUnlock(Mapping mapping, std::shared_ptr<detail::Connection> connection, std::uint64_t id) noexcept
      : mapping_(std::move(mapping)), connection_(std::move(connection)), id_(id) {}
  void run() noexcept override {
    mapping_.reset();
    if (connection_) connection_->release(id_);
  }

 private:
  Mapping mapping_;                                 ///< the whole segment, mutex included
  std::shared_ptr<detail::Connection> connection_;  ///< where the reference is held, or null (fork child)
  std::uint64_t id_;                                ///< the segment's id
};

}  // namespace

bool Segment::locked_by_this_thread() const noexcept {
  return mapping_ && !read_only_ && robust_fast::held_by_this_thread(mutex());
}

void Segment::release() noexcept {
  if (locked_by_this_thread()) [[unlikely]] {
    // Unmapping now would leave the guard's unlock, and this thread's robust list, pointing at
    // memory that is gone or, worse, at the next segment mapped there. Drop it after the unlock.
    pthread_mutex_t& m = mutex();
    Mapping mapping = std::move(mapping_);
    auto connection = unmap();  // the reference, if this process holds it
    auto* action = new (std::nothrow) DropAfterUnlock(std::move(mapping), std::move(connection), info_.id);
    if (action == nullptr) {
      // No memory: keep the mapping, and the reference with it, for good rather than corrupt.
      // A `new (std::nothrow)` that fails calls no constructor, so `mapping` was not moved from.
      (void)mapping.release();  // NOLINT(bugprone-use-after-move)
      return;
    }
    robust_fast::run_after_release(m, std::unique_ptr<robust_fast::ReleaseAction>(action));
    return;
  }
  if (auto connection = unmap()) connection->release(info_.id);
}

LockGuard Segment::refuse_lock(const char* what, std::error_code& ec) const noexcept {
  if (!mapping_)
    detail::fail(ec, Errc::invalid_argument, std::string(what) + " on a detached segment");
  else
    detail::fail(ec, Errc::permission_denied,
                 "segment '" + info_.name + "' is attached read-only and cannot be locked");
  return {};
}

LockGuard Segment::settle_lock(int rc, std::error_code& ec) noexcept {
  pthread_mutex_t& m = mutex();
  const LockState state = settle_robust_lock(m, rc, ec);
  if (ec) {
    detail::set_last_error_message("cannot lock segment '" + info_.name + "': " + ec.message());
    return {};
  }
  if (state == LockState::busy) return {};
  return LockGuard(&m, state == LockState::owner_died);
}

LockGuard Segment::lock_slow(int rc) {
  std::error_code ec;
  LockGuard guard = rc == kNotLockable ? refuse_lock("lock", ec) : settle_lock(rc, ec);
  if (ec) throw Error(ec, last_error_message());
  return guard;
}

LockGuard Segment::try_lock(std::error_code& ec) noexcept {
  if (!mapping_ || read_only_) return refuse_lock("try_lock", ec);
  return settle_lock(robust_fast::try_lock(mutex()), ec);
}

LockGuard Segment::try_lock() {
  std::error_code ec;
  LockGuard guard = try_lock(ec);
  if (ec) throw Error(ec, last_error_message());
  return guard;
}

LockGuard Segment::lock_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  if (!mapping_ || read_only_) return refuse_lock("lock_for", ec);
  const int rc = robust_fast::lock_for(mutex(), timeout);
  return settle_lock(rc == ETIMEDOUT ? EBUSY : rc, ec);  // timed out: an empty guard, as try_lock
}

LockGuard Segment::lock_for(std::chrono::nanoseconds timeout) {
  std::error_code ec;
  LockGuard guard = lock_for(timeout, ec);
  if (ec) throw Error(ec, last_error_message());
  return guard;
}

std::error_code Segment::watch_through_daemon(void* self) noexcept {
  auto& segment = *static_cast<Segment*>(self);
  std::error_code ec;
  if (!segment.connection_) return detail::fail(ec, Errc::invalid_argument, "wait on a detached segment");
  try {
    shmd::v1::Request request;
    request.mutable_watch()->set_id(segment.info_.id);
    shmd::v1::Response response;
    segment.connection_->call(request, response, ec);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  if (ec) detail::set_last_error_message("cannot watch segment '" + segment.info_.name + "': " + last_error_message());
  return ec;
}

std::uint32_t Segment::changes(std::error_code& ec) noexcept {
  if (!mapping_) {
    detail::fail(ec, Errc::invalid_argument, "changes() on a detached segment");
    return 0;
  }
  return change_word::watched_count(header(), !read_only_, {&Segment::watch_through_daemon, this}, ec);
}

std::uint32_t Segment::changes() {
  std::error_code ec;
  const std::uint32_t count = changes(ec);
  if (ec) throw Error(ec, last_error_message());
  return count;
}

WaitResult Segment::wait(std::uint32_t seen, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  if (!mapping_) {
    detail::fail(ec, Errc::invalid_argument, "wait on a detached segment");
    return {};
  }
  return change_word::wait(header(), seen, timeout, !read_only_, {&Segment::watch_through_daemon, this}, ec);
}

WaitResult Segment::wait(std::uint32_t seen, std::chrono::nanoseconds timeout) {
  std::error_code ec;
  const WaitResult result = wait(seen, timeout, ec);
  if (ec) throw Error(ec, last_error_message());
  return result;
}

void Segment::detach(std::error_code& ec) noexcept {
  ec.clear();
  if (locked_by_this_thread()) {
    detail::fail(ec, Errc::invalid_argument,
                 "detach '" + info_.name + "': this thread holds its lock; release the LockGuard first");
    return;
  }
  auto connection = unmap();
  if (!connection) return;
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

}  // namespace shm
