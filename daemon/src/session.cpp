#include "shmd/session.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <span>
#include <string>

#include "shm/wire/fd_passing.hpp"

namespace shmd {

Session::Session(asio::local::stream_protocol::socket socket, RequestHandler& handler, RequestContext ctx,
                 ConnectionLimiter::Slot slot, std::chrono::milliseconds frame_timeout,
                 spdlog::logger& log)
    : socket_(std::move(socket)),
      handler_(handler),
      ctx_(std::move(ctx)),
      slot_(std::move(slot)),
      frame_timeout_(frame_timeout),
      frame_timer_(socket_.get_executor()),
      log_(log) {}

Session::~Session() {
  handler_.client_closed(ctx_.client);
  log_.debug("client {} (pid {}, uid {}) disconnected", ctx_.client, ctx_.credentials.pid, ctx_.credentials.uid);
}

asio::awaitable<void> Session::run() {
  std::array<char, std::size_t{16} * 1024> buffer;
  std::string payload;
  shmd::v1::Request request;
  for (;;) {
    std::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer),
                                                           asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted)
        log_.debug("client {}: read failed: {}", ctx_.client, ec.message());
      co_return;
    }
    decoder_.feed(std::string_view(buffer.data(), n));
    while (decoder_.next(payload)) {
      if (!request.ParseFromString(payload)) {
        log_.warn("client {} (pid {}): sent a frame that is not a Request; closing", ctx_.client,
                  ctx_.credentials.pid);
        co_await send(RequestHandler::protocol_error("frame does not parse as a shmd.v1.Request"));
        co_return;
      }
      const Reply reply = handler_.handle(ctx_, request);
      if (reply.response.has_error())
        log_.debug("client {}: request {} refused: {}", ctx_.client, request.request_id(),
                   reply.response.error().message());
      if (reply.no_reply) continue;
      if (!co_await send(reply) || reply.close_connection) co_return;
    }
    watch_partial_frame();
    if (decoder_.error() != shm::wire::FrameError::none) {
      const auto why = shm::wire::to_string(decoder_.error());
      log_.warn("client {} (pid {}): {}; closing", ctx_.client, ctx_.credentials.pid, why);
      co_await send(RequestHandler::protocol_error(std::string(why)));
      co_return;
    }
  }
}

void Session::watch_partial_frame() {
  if (decoder_.buffered() == 0) {
    if (timer_armed_) frame_timer_.cancel();
    timer_armed_ = false;
    return;
  }
  if (timer_armed_) return;  // the deadline runs from when the frame started
  timer_armed_ = true;
  frame_timer_.expires_after(frame_timeout_);
  // The timer is a member: destroying the session cancels it, and a cancelled wait touches nothing.
  frame_timer_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    log_.warn("client {} (pid {}): frame incomplete for {} ms; closing", ctx_.client, ctx_.credentials.pid,
              frame_timeout_.count());
    std::error_code ignored;
    socket_.close(ignored);
  });
}

namespace {

std::string frame_of(const Reply& reply) {
  std::string frame;
  shm::wire::append_frame(frame, reply.response.SerializeAsString());
  return frame;
}

}  // namespace

void Session::refuse(asio::local::stream_protocol::socket socket, const Reply& reply) {
  const std::string frame = frame_of(reply);
  std::error_code ignored;
  // Best effort, never waiting: a refused peer gets no coroutine to keep. One small frame fits in
  // a fresh socket's buffer anyway.
  socket.non_blocking(true, ignored);
  (void)shm::wire::send_with_fd(socket.native_handle(), std::as_bytes(std::span(frame)), reply.fd_to_send(), ignored);
  socket.close(ignored);
}

asio::awaitable<bool> Session::send(const Reply& reply) {
  const std::string frame = frame_of(reply);
  auto rest = std::as_bytes(std::span(frame));
  int fd = reply.fd_to_send();  // rides with the first byte sent; the reply keeps it open meanwhile
  while (!rest.empty()) {
    std::error_code ec;
    const std::size_t sent = shm::wire::send_with_fd(socket_.native_handle(), rest, fd, ec);
    if (!ec) {
      rest = rest.subspan(sent);
      fd = -1;
      continue;
    }
    if (ec != std::errc::resource_unavailable_try_again && ec != std::errc::operation_would_block) {
      log_.debug("client {}: write failed: {}", ctx_.client, ec.message());
      co_return false;
    }
    std::error_code wait_ec;
    co_await socket_.async_wait(asio::socket_base::wait_write, asio::redirect_error(asio::use_awaitable, wait_ec));
    if (wait_ec) co_return false;
  }
  co_return true;
}

}  // namespace shmd
