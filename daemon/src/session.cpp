#include "shmd/session.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <span>
#include <string>

#include "shm/wire/fd_passing.hpp"

namespace shmd {

Session::Session(asio::local::stream_protocol::socket socket, RequestHandler& handler, RequestContext ctx,
                 ConnectionLimiter::Slot slot, std::chrono::milliseconds frame_timeout, spdlog::logger& log)
    : socket_(std::move(socket)),
      handler_(handler),
      ctx_(std::move(ctx)),
      slot_(std::move(slot)),
      frame_timeout_(frame_timeout),
      frame_timer_(socket_.get_executor()),
      log_(log),
      events_ready_(socket_.get_executor()) {}

Session::~Session() {
  subscriber_.reset();  // no events for a closing connection, not even about its own references
  handler_.client_closed(ctx_.client);
  log_.debug("client {} (pid {}, uid {}) disconnected", ctx_.client, ctx_.credentials.pid, ctx_.credentials.uid);
}

asio::awaitable<void> Session::run() {
  std::array<char, std::size_t{16} * 1024> buffer;
  std::string payload;
  shmd::v1::Request request;
  for (;;) {
    std::error_code ec;
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted)
        log_.debug("client {}: read failed: {}", ctx_.client, ec.message());
      co_return;
    }
    decoder_.feed(std::string_view(buffer.data(), n));
    while (decoder_.next(payload)) {
      if (!request.ParseFromString(payload)) {
        log_.warn("client {} (pid {}): sent a frame that is not a Request; closing", ctx_.client, ctx_.credentials.pid);
        co_await send(RequestHandler::protocol_error("frame does not parse as a shmd.v1.Request"));
        co_return;
      }
      const Reply reply = handler_.handle(ctx_, request);
      if (reply.response.has_error())
        log_.debug("client {}: request {} refused: {}", ctx_.client, request.request_id(),
                   reply.response.error().message());
      if (reply.no_reply) continue;
      if (!co_await send(reply) || reply.close_connection) co_return;
      if (reply.subscriber) {
        if (decoder_.buffered() > 0 || decoder_.next(payload)) {
          log_.warn("client {} (pid {}): sent more after Subscribe; closing", ctx_.client, ctx_.credentials.pid);
          co_return;
        }
        if (timer_armed_) frame_timer_.cancel();
        timer_armed_ = false;
        subscriber_ = reply.subscriber;
        log_.debug("client {}: subscribed", ctx_.client);
        co_await stream_events();
        co_return;
      }
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
  // The fd rides with the first byte sent; the reply keeps it open meanwhile.
  co_return co_await send_frame(frame_of(reply), reply.fd_to_send());
}

asio::awaitable<void> Session::stream_events() {
  using namespace asio::experimental::awaitable_operators;
  subscriber_->set_ready_callback([this] { events_ready_.cancel(); });
  co_await (write_events() || watch_peer());
  log_.debug("client {}: event stream ended", ctx_.client);
}

asio::awaitable<void> Session::write_events() {
  std::string frame;
  for (;;) {
    while (subscriber_->pop(frame))
      if (!co_await send_frame(frame, -1)) co_return;
    // Nothing waits: sleep until the subscriber's ready callback cancels the timer, or until
    // watch_peer() finishes first and cancels this whole coroutine.
    events_ready_.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    co_await events_ready_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<void> Session::watch_peer() {
  std::array<char, 256> buffer;
  std::error_code ec;
  const std::size_t n =
      co_await socket_.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && n > 0)
    log_.warn("client {} (pid {}): sent bytes on a subscribed connection, which takes no requests; closing",
              ctx_.client, ctx_.credentials.pid);
}

asio::awaitable<bool> Session::send_frame(const std::string& frame, int fd) {
  auto rest = std::as_bytes(std::span(frame));
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
