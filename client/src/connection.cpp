#include "connection.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

#include "fork_generation.hpp"
#include "protocol.hpp"
#include "shm/error.hpp"
#include "shm/segment_layout.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shm/wire/protocol_version.hpp"

namespace shm::detail {
namespace {

thread_local std::string t_last_error;

}  // namespace

void set_last_error_message(std::string message) { t_last_error = std::move(message); }

std::error_code& fail(std::error_code& ec, Errc code, std::string message) {
  ec = make_error_code(code);
  set_last_error_message(std::move(message));
  return ec;
}

std::shared_ptr<Connection> Connection::open(std::string socket_path, std::error_code& ec) {
  std::shared_ptr<Connection> c(new Connection(std::move(socket_path)));
  std::lock_guard lock(c->mutex_);
  c->connect_locked(ec);
  if (ec) return nullptr;
  return c;
}

void Connection::connect_locked(std::error_code& ec) {
  drop_locked();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.empty() || socket_path_.size() >= sizeof addr.sun_path) {
    fail(ec, Errc::invalid_argument, "socket path '" + socket_path_ + "' is empty or too long");
    return;
  }
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    fail(ec, errc_from_errno(errno), std::string("socket: ") + std::strerror(errno));
    return;
  }
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    fail(ec, Errc::daemon_unavailable,
         "cannot reach shmd at " + socket_path_ + ": " + std::strerror(errno) + " (is shmd running?)");
    return;
  }
  socket_ = std::move(fd);
  generation_ = fork_generation();

  shmd::v1::Request hello;
  hello.mutable_hello()->set_protocol_version(wire::kProtocolVersion);
  hello.mutable_hello()->set_client_name("libshmclient");
  shmd::v1::Response response;
  exchange_locked(hello, response, nullptr, ec);
  if (!ec && !response.has_hello()) fail(ec, Errc::protocol_error, "shmd did not answer Hello");
  if (!ec) {
    // Every segment's header would be refused otherwise: say why once, here.
    const std::uint32_t layout = named_layout(response.hello().segment_layout());
    if (layout != kLayoutVersion)
      fail(ec, Errc::version_mismatch,
           "shmd at " + socket_path_ + " writes segment layout " + std::to_string(layout) +
               "; this libshmclient reads layout " + std::to_string(kLayoutVersion) + ": upgrade the older of the two");
  }
  if (!ec) reattach_locked(ec);
  if (ec) drop_locked();
}

void Connection::reattach_locked(std::error_code& ec) {
  for (auto it = held_.begin(); it != held_.end();) {
    shmd::v1::Request request;
    request.mutable_reattach()->set_id(it->first);
    request.mutable_reattach()->set_references(it->second);
    shmd::v1::Response response;
    exchange_locked(request, response, nullptr, ec);
    if (ec == Errc::not_found || ec == Errc::not_attached || ec == Errc::permission_denied) {
      // The daemon will not count this reference again: the segment was released while it was
      // away, it did not restart (the references went with the old connection), it did not
      // record them, or the mode no longer lets us read it. The mapping still works; there is
      // just nothing to count. Refusing the connection for it would fail every later call.
      ec.clear();
      it = held_.erase(it);
      continue;
    }
    if (ec) return;
    ++it;
  }
}

void Connection::set_reply_timeout(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(mutex_);
  reply_timeout_ = timeout;
}

void Connection::set_busy_poll(std::chrono::microseconds window) noexcept {
  const auto usable = usable_busy_poll(window);
  std::lock_guard lock(mutex_);
  busy_poll_ = usable;
}

bool Connection::wait_readable_locked(std::chrono::steady_clock::time_point deadline) noexcept {
  using Clock = std::chrono::steady_clock;
  pollfd p{socket_.get(), POLLIN, 0};
  if (busy_poll_ > std::chrono::microseconds::zero()) {
    // A reply that is microseconds away comes sooner to a thread that keeps asking than to one
    // whose CPU went idle; sched_yield() lets anything else runnable here go first.
    const auto until = std::min(deadline, Clock::now() + busy_poll_);
    do {
      const int rc = ::poll(&p, 1, 0);
      if (rc > 0 || (rc < 0 && errno != EINTR)) return true;  // recv() reports what is wrong
      ::sched_yield();
    } while (Clock::now() < until);
  }
  // poll() rather than a blocking recv(): a thread asleep in recv() on a Unix socket is also woken
  // each time the daemon reads a request of ours (the kernel's write-space wakeup does not say
  // what it is for), one useless wake-up per request. poll() sleeps until a reply is there.
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    const int rc = ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX)));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let recv() report what is wrong
  }
}

void Connection::track(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  ++held_[id];
}

bool Connection::untrack_locked(std::uint64_t id) {
  // A fork()ed child never speaks on its parent's stream; without a connection the reference
  // already went with the old one (and is not re-registered: it is no longer in held_).
  if (!socket_ || generation_ != fork_generation()) return false;
  // Not tracked: the daemon refused to count it again after a reconnect, so there is nothing to drop.
  auto it = held_.find(id);
  if (it == held_.end()) return false;
  if (--it->second == 0) held_.erase(it);
  return true;
}

void Connection::release(std::uint64_t id) noexcept {
  std::lock_guard lock(mutex_);
  if (!untrack_locked(id)) return;
  try {
    shmd::v1::Request request;
    request.mutable_detach()->set_id(id);
    request.mutable_detach()->set_no_reply(true);
    std::error_code ec;
    send_locked(request, ec);  // a lost connection took the reference with it
  } catch (const std::bad_alloc&) {
    // No memory for a 20-byte frame: the reference stays until this connection closes.
  }
}

void Connection::detach(std::uint64_t id, std::error_code& ec) {
  ec.clear();
  std::lock_guard lock(mutex_);
  if (!untrack_locked(id)) return;
  shmd::v1::Request request;
  request.mutable_detach()->set_id(id);
  shmd::v1::Response response;
  exchange_locked(request, response, nullptr, ec);
  // A connection lost now took the reference with it: nothing is left to drop.
  if (ec == Errc::connection_lost || ec == Errc::daemon_unavailable) ec.clear();
}

UniqueFd Connection::release_stream(wire::FrameDecoder& rest) noexcept {
  std::lock_guard lock(mutex_);
  rest = std::move(decoder_);
  UniqueFd stream = std::move(socket_);
  drop_locked();
  return stream;
}

void Connection::drop_locked() noexcept {
  socket_.reset();
  decoder_ = wire::FrameDecoder(wire::kMaxFrameBytes);
  pending_fds_.clear();
}

void Connection::call(shmd::v1::Request& request, shmd::v1::Response& response, std::error_code& ec) {
  round_trip(request, response, nullptr, ec);
}

void Connection::call(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd& segment_fd,
                      std::error_code& ec) {
  round_trip(request, response, &segment_fd, ec);
}

void Connection::round_trip(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd,
                            std::error_code& ec) {
  std::lock_guard lock(mutex_);
  if (socket_ && generation_ != fork_generation()) {
    // We are a fork()ed child: the stream and the references belong to the parent. Close our
    // copy (the parent's stays open) and speak on a connection of our own.
    drop_locked();
    held_.clear();
  }
  if (!socket_) {
    connect_locked(ec);
    if (ec) return;
  }
  exchange_locked(request, response, segment_fd, ec);
  if (ec == Errc::connection_lost) {
    // The daemon went away (restart, crash). Reconnect, re-register, and try once more.
    connect_locked(ec);
    if (!ec) exchange_locked(request, response, segment_fd, ec);
  }
}

void Connection::exchange_locked(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd,
                                 std::error_code& ec) {
  send_locked(request, ec);
  if (!ec) receive_locked(request, response, segment_fd, ec);
}

void Connection::send_locked(shmd::v1::Request& request, std::error_code& ec) {
  ec.clear();
  request.set_request_id(next_request_id_++);
  std::string frame;
  wire::append_frame(frame, request.SerializeAsString());
  if (frame.size() > wire::kMaxFrameBytes + wire::kMaxVarintBytes) {
    fail(ec, Errc::invalid_argument,
         "request of " + std::to_string(frame.size()) + " bytes exceeds the 64 KiB frame limit");
    return;
  }
  for (std::size_t off = 0; off < frame.size();) {
    const ssize_t n = ::send(socket_.get(), frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      drop_locked();
      fail(ec, Errc::connection_lost, "lost connection to shmd at " + socket_path_ + ": " + std::strerror(err));
      return;
    }
    off += static_cast<std::size_t>(n);
  }
}

void Connection::receive_locked(const shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd,
                                std::error_code& ec) {
  std::string payload;
  std::array<std::byte, std::size_t{64} * 1024> buffer;
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      reply_timeout_ >= std::chrono::hours(24 * 365) ? Clock::time_point::max() : Clock::now() + reply_timeout_;
  while (!decoder_.next(payload)) {
    if (decoder_.error() != wire::FrameError::none) {
      drop_locked();
      fail(ec, Errc::protocol_error, "bad reply from shmd: " + std::string(wire::to_string(decoder_.error())));
      return;
    }
    if (!wait_readable_locked(deadline)) {
      // The daemon accepted but does not answer (a socket-activated listener with no daemon, say).
      drop_locked();
      fail(ec, Errc::daemon_unavailable,
           "shmd at " + socket_path_ + " did not answer within " + std::to_string(reply_timeout_.count()) + " ms");
      return;
    }
    std::error_code rec;
    const std::size_t n = wire::recv_with_fds(socket_.get(), buffer, pending_fds_, rec);
    if (rec || n == 0) {
      drop_locked();
      fail(ec, Errc::connection_lost,
           "shmd at " + socket_path_ + " closed the connection" + (rec ? ": " + rec.message() : std::string()));
      return;
    }
    decoder_.feed(std::span<const std::byte>(buffer.data(), n));
  }
  if (!response.ParseFromString(payload) || response.request_id() != request.request_id()) {
    drop_locked();
    fail(ec, Errc::protocol_error, "shmd sent a reply that does not match the request");
    return;
  }
  if (segment_fd != nullptr && !response.has_error()) {
    if (pending_fds_.empty()) {
      drop_locked();
      fail(ec, Errc::protocol_error, "shmd's reply should carry a segment fd but has none");
      return;
    }
    *segment_fd = std::move(pending_fds_.front());
    pending_fds_.erase(pending_fds_.begin());
  }
  pending_fds_.clear();  // anything else is unexpected: close it rather than leak it
  if (response.has_error()) {
    const auto& e = response.error();
    fail(ec, from_wire(e.code()), e.message());
    if (e.code() == shmd::v1::PROTOCOL_ERROR) drop_locked();  // the daemon closes after these
  }
}

}  // namespace shm::detail

namespace shm {
const std::string& last_error_message() noexcept { return detail::t_last_error; }
}  // namespace shm
