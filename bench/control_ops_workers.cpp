// Clients of control_ops: shmd's create/info/remove cycle, and the bare-socket ping-pong.

#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>

#include "pipe.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {
namespace {

UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::invalid_argument("socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::system_error(errno, std::generic_category(), "connect " + path);
  return fd;
}

}  // namespace

void control_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  const std::string& prefix = arg_string(args, 1);
  const std::uint64_t cycles = arg_number(args, 2);
  std::vector<std::string> names;
  for (std::uint64_t i = 0; i < cycles; ++i) names.push_back(prefix + std::to_string(i));
  const int zero = 0;
  const SegmentSpec spec{'i', Kind::value, 1, std::as_bytes(std::span(&zero, 1)), {}};
  wait_for_start();
  for (const auto& name : names) {
    // Control requests, as an admin tool makes them: create without attaching (`shmctl create`),
    // info, remove (which frees the unreferenced segment).
    (void)client.create_detached(name, spec);
    (void)client.info(name);
    client.remove(name);
  }
  report_done();
}

void pingpong_client(const WorkerArgs& args) {
  UniqueFd sock = connect_unix(arg_string(args, 0));
  const std::uint64_t rounds = arg_number(args, 1);
  std::array<char, kPingBytes> ping{};
  std::array<char, kPongBytes> pong{};
  wait_for_start();
  for (std::uint64_t i = 0; i < rounds; ++i) {
    write_all(sock.get(), ping.data(), ping.size());
    if (!read_exact(sock.get(), pong.data(), pong.size())) throw std::runtime_error("ping-pong server closed");
  }
  report_done();
}

}  // namespace shm::bench
