// The attach_detach floor: a bare server that answers each small request with a reply that
// carries one memfd by SCM_RIGHTS, the least any fd-passing broker must do per attach.

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "gate_report.hpp"
#include "pipe.hpp"
#include "shm/wire/fd_passing.hpp"
#include "worker_args.hpp"

namespace shm::bench {

/// The memfd the floor server hands out, as numbered in the server process.
inline constexpr int kFloorMemfd = 6;

void fd_floor_server(const WorkerArgs&) {
  std::array<char, kPingBytes> request{};
  const std::array<std::byte, kPongBytes> reply{};
  for (;;) {
    if (!read_exact(kResourceFd, request.data(), request.size())) return;  // the client is done
    std::span<const std::byte> rest(reply);
    int fd = kFloorMemfd;
    while (!rest.empty()) {
      std::error_code ec;
      const std::size_t sent = wire::send_with_fd(kResourceFd, rest, fd, ec);
      if (ec) throw std::system_error(ec, "sendmsg");
      rest = rest.subspan(sent);
      fd = -1;
    }
  }
}

}  // namespace shm::bench
