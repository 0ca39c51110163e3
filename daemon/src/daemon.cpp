#include "shmd/daemon.hpp"

#include <spdlog/sinks/null_sink.h>

#include "shm/busy_poll.hpp"
#include "shmd/event_loop.hpp"
#include "shmd/listening_socket.hpp"

namespace shmd {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(2);

}  // namespace

const char* version() noexcept { return SHMD_VERSION; }

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      log_(config_.logger ? config_.logger
                          : std::make_shared<spdlog::logger>("shmd", std::make_shared<spdlog::sinks::null_sink_mt>())),
      registry_(config_.limits),
      handler_(registry_, version(), config_.subscriber_events) {
  registry_.set_huge_pages(config_.huge_pages);
}

// Sorts what systemd handed over: stored segments go to the registry, and the listening socket
// (socket activation) is returned, or nothing when shmd must bind its own.
shm::UniqueFd Daemon::adopt_fds() {
  std::vector<InheritedFd> inherited = take_inherited_fds();
  if (notifier_.enabled() && config_.fd_store_max == 0) {
    log_->warn(
        "not using the service manager's fd store: its size is unknown (give --fd-store-max the value of "
        "FileDescriptorStoreMax=); segments will not survive a restart");
  } else if (notifier_.enabled()) {
    fd_store_ = std::make_unique<FdStore>(notifier_, registry_, *log_, config_.fd_store_max);
    auto restored = fd_store_->restore(inherited);
    if (restored) {
      restored_ = restored.value();
      registry_.set_observer(fd_store_.get());
      log_->info("fd store: FileDescriptorStoreMax={} keeps {} segments beside the journal", config_.fd_store_max,
                 fd_store_->segment_capacity());
      if (restored_ > 0) log_->info("restored {} segments from the fd store", restored_);
    } else {
      log_->error("fd store disabled: {}", restored.failure().message);
      fd_store_.reset();
    }
  }
  shm::UniqueFd listener;
  for (InheritedFd& f : inherited) {
    if (!listener && is_listening_unix_socket(f.fd.get())) {
      log_->info("socket-activated: using inherited listener '{}'", f.name);
      listener = std::move(f.fd);
    } else {
      log_->warn("closing unexpected inherited fd '{}'", f.name);
    }
  }
  return listener;
}

shm::Result<std::unique_ptr<Daemon>> Daemon::create(Config config) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(config)));
  shm::UniqueFd listener = d->adopt_fds();
  std::string owned_socket_path;  // systemd owns an activated socket's file; we own one we bind
  if (!listener) {
    auto bound = bind_listening_socket(d->config_.socket_path, d->config_.socket_mode);
    if (!bound) return bound.failure();
    listener = std::move(bound.value());
    owned_socket_path = d->config_.socket_path;
  }
  d->server_.emplace(d->io_, std::move(listener), owned_socket_path, d->config_, d->handler_, *d->log_);
  if (d->config_.handle_signals) {
    d->signals_.emplace(d->io_, SIGINT, SIGTERM);
    d->signals_->async_wait([raw = d.get()](const std::error_code& ec, int signo) {
      if (ec) return;
      raw->log_->info("signal {} received; shutting down", signo);
      raw->stop();
    });
  }
  d->hold_timer_.emplace(d->io_);
  d->handler_.set_hold_listener([raw = d.get()] { raw->schedule_hold_expiry(); });
  if (d->restored_ > 0) {
    d->grace_timer_.emplace(d->io_, d->config_.restore_grace);
    d->grace_timer_->async_wait([raw = d.get()](const std::error_code& ec) {
      if (ec) return;
      if (const std::size_t n = raw->registry_.sweep_unreferenced(); n > 0)
        raw->log_->info("grace period over: released {} restored segments nobody reattached", n);
    });
  }
  return d;
}

Daemon::~Daemon() {
  server_.reset();  // closes the listener and unlinks the socket file first
  signals_.reset();
}

std::string Daemon::status_line() const {
  return std::to_string(registry_.segment_count()) + " segments, " + std::to_string(registry_.total_bytes()) + " bytes";
}

void Daemon::schedule_status() {
  if (!notifier_.enabled()) return;
  if (!status_timer_) status_timer_.emplace(io_);
  status_timer_->expires_after(kStatusInterval);
  status_timer_->async_wait([this](const std::error_code& ec) {
    if (ec) return;
    if (std::string line = status_line(); line != last_status_) {
      notifier_.status(line);
      last_status_ = std::move(line);
    }
    schedule_status();
  });
}

void Daemon::schedule_hold_expiry() {
  const auto next = registry_.next_hold_deadline();
  if (!next || (hold_timer_armed_ && hold_timer_->expiry() <= *next)) return;
  hold_timer_->expires_at(*next);  // cancels a later wait, whose handler then does nothing
  hold_timer_armed_ = true;
  hold_timer_->async_wait([this](const std::error_code& ec) {
    if (ec) return;
    hold_timer_armed_ = false;
    if (const std::size_t n = registry_.expire_holds(HoldClock::now()); n > 0)
      log_->debug("{} unclaimed holds expired", n);
    schedule_hold_expiry();
  });
}

void Daemon::run() {
  server_->start();
  log_->info("shmd {} listening on {}", version(), config_.socket_path);
  last_status_ = status_line();
  notifier_.ready(last_status_);
  schedule_status();
  const auto busy_poll = shm::usable_busy_poll(config_.busy_poll);
  if (busy_poll.count() == 0 && config_.busy_poll.count() > 0) log_->info("one CPU usable: busy polling is off");
  run_event_loop(io_, busy_poll);
  notifier_.stopping();
  log_->info("stopped with {} segments ({} bytes) held", registry_.segment_count(), registry_.total_bytes());
}

void Daemon::stop() {
  asio::post(io_, [this] {
    if (server_) server_->stop();
    io_.stop();
  });
}

}  // namespace shmd
