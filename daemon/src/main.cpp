// shmd: parses the command line, configures logging, and runs the Daemon.

#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "shm/busy_poll.hpp"
#include "shm/default_socket_path.hpp"
#include "shmd/daemon.hpp"
#include "shmd/fd_limit.hpp"
#include "shmd/fd_store.hpp"
#include "shmd/systemd.hpp"

namespace {

// Descriptors shmd needs besides segment memfds and client sockets: stdio, listener, epoll,
// signals, the notify socket, the journal, and one in flight per reply.
constexpr std::uint64_t kReservedFds = 64;

// Tells whoever started us (a test, a script) that the socket answers, without them polling.
void signal_ready(int fd) {
  if (fd < 0) return;
  constexpr std::string_view kReady = "READY\n";
  [[maybe_unused]] const ssize_t n = ::write(fd, kReady.data(), kReady.size());
  ::close(fd);
}

}  // namespace

// A function-try-block: whatever escapes (a failed allocation while setting up, the event loop
// giving up) ends the daemon with a line saying why, not with std::terminate.
int main(int argc, char** argv) try {
  shmd::Config config;
  config.socket_path = shm::default_socket_path();
  std::string socket_mode = "0666";
  std::string log_level = "info";
  int ready_fd = -1;

  CLI::App app{
      "shmd: shared-memory broker. Creates, names and reference-counts shared Value/Array "
      "segments and hands them to clients over a Unix socket."};
  app.set_version_flag("--version", std::string("shmd ") + shmd::version());
  app.add_option("--socket", config.socket_path,
                 "Unix socket to listen on (default: $SHMD_SOCKET, else /run/shmd/shmd.sock)")
      ->capture_default_str();
  app.add_option("--socket-mode", socket_mode, "Permission bits of the socket file, octal")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--max-segment-bytes", config.limits.max_segment_bytes, "Largest data size of one segment")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-total-bytes", config.limits.max_total_bytes,
                 "Largest total size of all segments (their memory is allocated at create)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-segments", config.limits.max_segments, "Most segments alive at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-name-length", config.limits.max_name_length, "Longest segment name (1-255)")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  app.add_option("--max-bytes-per-uid", config.limits.max_bytes_per_uid,
                 "Quota: segment bytes one non-root uid may hold")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-segments-per-uid", config.limits.max_segments_per_uid,
                 "Quota: segments one non-root uid may hold")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-connections", config.limits.max_connections, "Most client connections at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-connections-per-uid", config.limits.max_connections_per_uid,
                 "Most connections one non-root uid may hold")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-holds-per-uid", config.limits.max_holds_per_uid,
                 "Most outstanding Holds (references kept for a receiver to claim) one uid, root included, may have")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-subscribers", config.limits.max_subscribers,
                 "Most event streams (shmctl events, Subscribe) at once; each may keep --max-subscriber-events "
                 "events waiting")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-subscribers-per-uid", config.limits.max_subscribers_per_uid,
                 "Most event streams one non-root uid may hold")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-subscriber-events", config.subscriber_events,
                 "Events that may wait for one event subscriber (shmctl events) that reads slower than they "
                 "come; past it newer events are dropped and the subscriber is told how many it missed")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  double frame_timeout_s = 10;
  app.add_option("--frame-timeout", frame_timeout_s, "Seconds a client may leave a request frame half sent")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  double restore_grace_s = 30;
  app.add_option("--restore-grace", restore_grace_s,
                 "Seconds after a restart in which clients may reattach the references they held; then the "
                 "unclaimed ones are dropped, and removed or ephemeral segments nobody holds are released "
                 "(fd store only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  std::int64_t busy_poll_us = shm::kDefaultBusyPoll.count();
  app.add_option("--busy-poll-us", busy_poll_us,
                 "Longest time to keep polling for requests after serving some, before sleeping, in "
                 "microseconds (0-10000; 0 turns it off); the window adapts below it. Trades CPU time "
                 "for latency; see docs/performance.md")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{shm::kMaxBusyPoll.count()}));
  bool no_huge_pages = false;
  app.add_flag("--no-huge-pages", no_huge_pages,
               "Give segments small pages only; by default every whole 2 MiB of a segment gets a huge page at "
               "create, where the kernel allows it (see docs/design.md)");
  auto* fd_store_max =
      app.add_option(
             "--fd-store-max", config.fd_store_max,
             "Capacity of systemd's fd store, the unit's FileDescriptorStoreMax= (systemd 254 and later tell it in "
             "$FDSTORE, which wins). Under systemd, segments survive restarts only when it is known, and creates "
             "past what the store keeps are refused; 0: do not use the store")
          ->capture_default_str();
  app.add_option("--ready-fd", ready_fd, "Write READY to this fd (then close it) once the socket answers");
  CLI11_PARSE(app, argc, argv);

  std::uint32_t mode = 0;
  try {
    std::size_t used = 0;
    const unsigned long parsed = std::stoul(socket_mode, &used, 8);
    if (used != socket_mode.size() || parsed > 0777) throw std::invalid_argument(socket_mode);
    mode = static_cast<std::uint32_t>(parsed);
  } catch (const std::exception&) {
    std::cerr << "shmd: --socket-mode must be octal permission bits such as 0666, not '" << socket_mode << "'\n";
    return 2;
  }
  config.socket_mode = mode;
  config.restore_grace = std::chrono::milliseconds(static_cast<std::int64_t>(restore_grace_s * 1000));
  config.frame_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(frame_timeout_s * 1000));
  config.busy_poll = std::chrono::microseconds(busy_poll_us);
  config.huge_pages = !no_huge_pages;

  auto logger = spdlog::stderr_logger_mt("shmd");
  logger->set_level(spdlog::level::from_str(log_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  config.logger = logger;

  if (const auto from_systemd = shmd::fd_store_max_from_environment()) {
    if (fd_store_max->count() > 0 && *from_systemd != config.fd_store_max)
      logger->warn("--fd-store-max {} disagrees with the service manager's FDSTORE={}; using {}", config.fd_store_max,
                   *from_systemd, *from_systemd);
    config.fd_store_max = *from_systemd;
  }
  if (config.fd_store_max > 0 && config.fd_store_max <= shmd::FdStore::kJournalSlots) {
    logger->critical(
        "an fd store of {} leaves no room for a segment beside shmd's journal; give it at least {} "
        "(FileDescriptorStoreMax= and --fd-store-max), or 0 to go without it",
        config.fd_store_max, shmd::FdStore::kJournalSlots + 1);
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);
  const std::uint64_t nofile = shmd::raise_fd_limit();
  if (config.limits.max_connections + kReservedFds > nofile / 2) {
    const std::uint64_t fitted = nofile / 2 > kReservedFds ? nofile / 2 - kReservedFds : 1;
    logger->warn("fd limit {} is low; lowering max-connections from {} to {}", nofile, config.limits.max_connections,
                 fitted);
    config.limits.max_connections = static_cast<std::size_t>(fitted);
  }
  const std::uint64_t used = kReservedFds + config.limits.max_connections;
  const std::uint64_t fd_room = nofile > used ? nofile - used : 0;
  if (config.limits.max_segments > fd_room) {
    logger->warn("fd limit {} allows about {} segments; lowering max-segments from {}", nofile, fd_room,
                 config.limits.max_segments);
    config.limits.max_segments = static_cast<std::size_t>(fd_room);
  } else {
    logger->info("fd limit {} allows about {} segments; max-segments is {}", nofile, fd_room,
                 config.limits.max_segments);
  }

  auto daemon = shmd::Daemon::create(config);
  if (!daemon) {
    logger->critical("cannot start: {}", daemon.failure().message);
    return 1;
  }
  signal_ready(ready_fd);
  daemon.value()->run();
  return 0;
} catch (const std::exception& e) {
  spdlog::critical("shmd: {}", e.what());
  return 1;
}
