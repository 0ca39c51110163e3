#include "shmd/daemon.hpp"

#include <spdlog/sinks/null_sink.h>

#include "shmd/listening_socket.hpp"

namespace shmd {

const char* version() noexcept { return SHMD_VERSION; }

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      log_(config_.logger ? config_.logger : std::make_shared<spdlog::logger>("shmd", std::make_shared<spdlog::sinks::null_sink_mt>())),
      registry_(config_.limits),
      handler_(registry_, version()) {}

Result<std::unique_ptr<Daemon>> Daemon::create(Config config) {
  auto listener = bind_listening_socket(config.socket_path, config.socket_mode);
  if (!listener) return listener.failure();
  std::unique_ptr<Daemon> d(new Daemon(std::move(config)));
  d->server_.emplace(d->io_, std::move(listener.value()), d->config_.socket_path, d->handler_, d->registry_, *d->log_);
  if (d->config_.handle_signals) {
    d->signals_.emplace(d->io_, SIGINT, SIGTERM);
    d->signals_->async_wait([raw = d.get()](const std::error_code& ec, int signo) {
      if (ec) return;
      raw->log_->info("signal {} received; shutting down", signo);
      raw->stop();
    });
  }
  return d;
}

Daemon::~Daemon() {
  server_.reset();  // closes the listener and unlinks the socket file first
  signals_.reset();
}

void Daemon::run() {
  server_->start();
  log_->info("shmd {} listening on {}", version(), config_.socket_path);
  io_.run();
  log_->info("stopped with {} segments ({} bytes) held", registry_.segment_count(), registry_.total_bytes());
}

void Daemon::stop() {
  asio::post(io_, [this] {
    if (server_) server_->stop();
    io_.stop();
  });
}

}  // namespace shmd
