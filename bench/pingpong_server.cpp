// The control_ops reference server: single-threaded epoll, like shmd's one io_context thread.
// Each kPingBytes request gets a kPongBytes reply; no parsing, no work: the socket's floor. With a
// busy-poll window it polls for events as shmd's event loop does. In its memfd mode it also does
// what a create and a remove cost any broker of sealed memfds: the first of every three requests
// on a connection makes a Value's memfd as shmd does (make_value_memfd), the third closes it.

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <map>
#include <system_error>

#include "busy_wait.hpp"
#include "gate_report.hpp"
#include "memfd.hpp"
#include "pipe.hpp"
#include "shm/busy_poll.hpp"
#include "shm/unique_fd.hpp"
#include "worker_args.hpp"
#include "worker_modes.hpp"

namespace shm::bench {

void pingpong_server(const WorkerArgs& args) {
  const std::uint64_t clients = arg_number(args, 0);
  const auto busy_poll = usable_busy_poll(std::chrono::microseconds(arg_number(args, 1)));
  const bool make_memfds = arg_number(args, 2) != 0;
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = kResourceFd;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, kResourceFd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  struct Peer {
    UniqueFd socket;
    std::size_t buffered = 0;  // request bytes received and not yet answered
    std::uint64_t answered = 0;
    UniqueFd segment;  // memfd mode: the memfd of this client's current "create"
  };
  std::map<int, Peer> peers;
  std::uint64_t accepted = 0;
  std::array<epoll_event, 64> events{};
  std::array<char, 4096> buffer{};
  const std::array<char, kPongBytes> pong{};
  // Handles what epoll reports: asleep until something happens, or only what is there.
  auto serve = [&](bool sleep) {
    const int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), sleep ? -1 : 0);
    if (n < 0 && errno == EINTR) return 0;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == kResourceFd) {
        UniqueFd peer(::accept4(kResourceFd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!peer) continue;
        ev.data.fd = peer.get();
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, peer.get(), &ev) != 0)
          throw std::system_error(errno, std::generic_category(), "epoll_ctl");
        ++accepted;
        const int key = peer.get();
        peers.emplace(key, Peer{std::move(peer), 0, 0, UniqueFd()});
        continue;
      }
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) {
        peers.erase(fd);  // closing drops it from the epoll set
        continue;
      }
      Peer& p = peers.at(fd);
      for (p.buffered += static_cast<std::size_t>(got); p.buffered >= kPingBytes; p.buffered -= kPingBytes) {
        const auto in_cycle = p.answered % kControlRequestsPerCycle;  // create, info, remove
        if (make_memfds && in_cycle == 0) p.segment = make_value_memfd();
        if (make_memfds && in_cycle == kControlRequestsPerCycle - 1) p.segment.reset();
        write_all(fd, pong.data(), pong.size());
        ++p.answered;
      }
    }
    return n;
  };
  run_polling_loop(busy_poll, serve, [&] { return accepted < clients || !peers.empty(); });
}

}  // namespace shm::bench
