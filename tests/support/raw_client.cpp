#include "raw_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "poll_deadline.hpp"
#include "shm/wire/fd_passing.hpp"

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

RawClient::RawClient(const std::string& socket_path) : socket_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!socket_ || socket_path.size() >= sizeof addr.sun_path) {
    ADD_FAILURE() << "RawClient: cannot make a socket for " << socket_path;
    throw std::runtime_error("RawClient: bad socket path " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int rc;
  do {
    rc = ::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    ADD_FAILURE() << "RawClient: connect " << socket_path << ": " << std::strerror(err);
    throw std::system_error(err, std::generic_category(), "connect " + socket_path);
  }
}

bool RawClient::send_bytes(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawClient::send_request(const shmd::v1::Request& request) {
  std::string frame;
  wire::append_frame(frame, request.SerializeAsString());
  return send_bytes(frame);
}

bool RawClient::read_some(std::chrono::milliseconds timeout) {
  if (eof_) return false;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{socket_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      if (Clock::now() < deadline) continue;
      return false;
    }
    std::array<std::byte, 16384> buf;
    std::error_code ec;
    const std::size_t n = wire::recv_with_fds(socket_.get(), buf, fds_, ec);
    if (ec == std::errc::interrupted || ec == std::errc::resource_unavailable_try_again) continue;
    if (ec || n == 0) {
      eof_ = true;
      return false;
    }
    decoder_.feed(std::span<const std::byte>(buf.data(), n));
    return true;
  }
}

std::optional<RawClient::Reply> RawClient::receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string payload;
  while (!decoder_.next(payload)) {
    if (decoder_.error() != wire::FrameError::none) {
      ADD_FAILURE() << "RawClient: broken reply stream: " << wire::to_string(decoder_.error());
      return std::nullopt;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    if (!read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
      if (!eof_ && Clock::now() < deadline) continue;
      return std::nullopt;
    }
  }
  Reply reply;
  if (!reply.first.ParseFromString(payload)) {
    ADD_FAILURE() << "RawClient: reply of " << payload.size() << " bytes is not a shmd.v1.Response";
    return std::nullopt;
  }
  // An fd travels with the first bytes of its reply. The kernel may glue an fd-less reply to the
  // next one in a single read, so the fds go to a reply that hands over a segment, or to one that
  // ended the bytes read so far (that way an fd wrongly sent with an error reply is still seen).
  const auto body = reply.first.body_case();
  const bool hands_over =
      !reply.first.has_error() && (body == shmd::v1::Response::kCreate || body == shmd::v1::Response::kAttach);
  if (hands_over || decoder_.buffered() == 0) reply.second = std::exchange(fds_, {});
  return reply;
}

std::optional<RawClient::Reply> RawClient::call(const shmd::v1::Request& request, std::chrono::milliseconds timeout) {
  shmd::v1::Request r = request;
  if (r.request_id() == 0) r.set_request_id(next_id_++);
  if (!send_request(r)) {
    ADD_FAILURE() << "RawClient: the daemon closed the connection before " << r.ShortDebugString();
    return std::nullopt;
  }
  auto reply = receive(timeout);
  if (!reply) ADD_FAILURE() << "RawClient: no reply to " << r.ShortDebugString();
  return reply;
}

bool RawClient::hello() {
  shmd::v1::Request r;
  r.mutable_hello()->set_protocol_version(1);
  r.mutable_hello()->set_client_name("shm-test raw client");
  const auto reply = call(r);
  if (reply && reply->first.has_error())
    ADD_FAILURE() << "RawClient: hello failed: " << reply->first.ShortDebugString();
  return reply && !reply->first.has_error();
}

bool RawClient::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!eof_ && Clock::now() < deadline) {
    read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    std::string discarded;
    while (decoder_.next(discarded)) {
    }
  }
  return eof_;
}

}  // namespace shm::test
