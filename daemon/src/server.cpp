#include "shmd/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>
#include <vector>

#include "shmd/session.hpp"

namespace shmd {
namespace {

// The session lives in the coroutine frame, so it is destroyed exactly when its coroutine ends
// (or when the io_context is torn down with it still pending).
// A session that throws (it should not) ends alone; the daemon keeps serving everyone else.
asio::awaitable<void> serve(std::unique_ptr<Session> session, spdlog::logger& log) {
  try {
    co_await session->run();
  } catch (const std::exception& e) {
    log.error("session failed: {}", e.what());
  }
}

// The peer's supplementary groups, for group permission checks (empty if the kernel won't say).
std::vector<gid_t> peer_groups(int fd) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);
  }
  return {};
}

}  // namespace

Server::Server(asio::io_context& io, shm::UniqueFd listener, std::string socket_path, const Config& config,
               RequestHandler& handler, spdlog::logger& log)
    : io_(io),
      acceptor_(io, asio::local::stream_protocol(), listener.release()),
      socket_path_(std::move(socket_path)),
      handler_(handler),
      log_(log),
      limiter_(
          std::make_shared<ConnectionLimiter>(config.limits.max_connections, config.limits.max_connections_per_uid)),
      frame_timeout_(config.frame_timeout) {}

Server::~Server() {
  stop();
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

void Server::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

void Server::stop() {
  std::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> Server::accept_loop() {
  asio::steady_timer backoff(io_);
  for (;;) {
    std::error_code ec;
    auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of fds, most likely: back off instead of spinning, and keep serving existing clients.
      log_.error("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    ucred peer{};
    socklen_t len = sizeof peer;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
      log_.warn("SO_PEERCRED failed: {}; dropping connection",
                std::error_code(errno, std::generic_category()).message());
      continue;
    }
    auto slot = limiter_->admit(peer.uid);
    if (!slot) {
      log_.warn("refusing connection from pid {} (uid {}): {}", peer.pid, peer.uid, slot.failure().message);
      Session::refuse(std::move(socket), RequestHandler::refusal(slot.failure()));
      continue;
    }
    socket.non_blocking(true, ec);
    RequestContext ctx{next_client_++, Credentials{peer.uid, peer.gid, peer.pid, peer_groups(socket.native_handle())}};
    log_.debug("client {} connected (pid {}, uid {}, gid {})", ctx.client, peer.pid, peer.uid, peer.gid);
    asio::co_spawn(io_,
                   serve(std::make_unique<Session>(std::move(socket), handler_, std::move(ctx), std::move(slot.value()),
                                                   frame_timeout_, log_),
                         log_),
                   asio::detached);
  }
}

}  // namespace shmd
