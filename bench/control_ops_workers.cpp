// Clients of control_ops: shmd's create/info/remove cycle, and the bare-socket ping-pong.

#include <array>
#include <chrono>
#include <span>
#include <system_error>

#include "busy_wait.hpp"
#include "pipe.hpp"
#include "shm/busy_poll.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"
#include "unix_socket.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {

void control_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  const std::string& prefix = arg_string(args, 1);
  const std::uint64_t cycles = arg_number(args, 2);
  client.set_busy_poll(std::chrono::microseconds(arg_number(args, 3)));
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
  const auto busy_poll = usable_busy_poll(std::chrono::microseconds(arg_number(args, 2)));
  std::array<char, kPingBytes> ping{};
  std::array<char, kPongBytes> pong{};
  wait_for_start();
  for (std::uint64_t i = 0; i < rounds; ++i) {
    write_all(sock.get(), ping.data(), ping.size());
    // Polled as libshmclient polls for a reply; without a window, asleep in read() as before.
    if (busy_poll > std::chrono::microseconds::zero()) wait_readable(sock.get(), busy_poll);
    if (!read_exact(sock.get(), pong.data(), pong.size())) throw std::runtime_error("ping-pong server closed");
  }
  report_done();
}

}  // namespace shm::bench
