// The attach_detach floor: a bare server that answers each small request with a reply that
// carries one memfd by SCM_RIGHTS, the least any fd-passing broker must do per attach. With a
// busy-poll window it polls for the next request as shmd's event loop does. In its detach mode
// every second message is a one-way detach, read and not answered: the least a broker that
// counts references must also hear per attach.

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <system_error>

#include "busy_wait.hpp"
#include "gate_report.hpp"
#include "pipe.hpp"
#include "shm/busy_poll.hpp"
#include "shm/wire/fd_passing.hpp"
#include "worker_args.hpp"

namespace shm::bench {

/// The memfd the floor server hands out, as numbered in the server process.
inline constexpr int kFloorMemfd = 6;

void fd_floor_server(const WorkerArgs& args) {
  const auto busy_poll = usable_busy_poll(std::chrono::microseconds(arg_number(args, 0)));
  const bool detaches = arg_number(args, 1) != 0;
  bool detach_next = false;  // detach mode: the next message is the detach of the last reply's fd
  std::array<char, kPingBytes> request{};
  const std::array<std::byte, kPongBytes> reply{};
  bool open = true;
  // One request, one reply; without sleeping, only if a request is there already.
  auto serve = [&](bool sleep) {
    if (!sleep) {
      pollfd p{kResourceFd, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return 0;
    }
    if (!read_exact(kResourceFd, request.data(), request.size())) {
      open = false;  // the client is done
      return 1;
    }
    if (detach_next) {
      detach_next = false;
      return 1;
    }
    detach_next = detaches;
    std::span<const std::byte> rest(reply);
    int fd = kFloorMemfd;
    while (!rest.empty()) {
      std::error_code ec;
      const std::size_t sent = wire::send_with_fd(kResourceFd, rest, fd, ec);
      if (ec) throw std::system_error(ec, "sendmsg");
      rest = rest.subspan(sent);
      fd = -1;
    }
    return 1;
  };
  run_polling_loop(busy_poll, serve, [&] { return open; });
}

}  // namespace shm::bench
