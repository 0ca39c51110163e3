// control_ops: eight clients issuing small control requests, against a bare socket ping-pong.

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <system_error>

#include "child_process.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "sampling.hpp"
#include "shm/unique_fd.hpp"
#include "temp_dir.hpp"
#include "worker_group.hpp"

namespace shm::bench {
namespace {

constexpr int kClients = 8;
// What one control_shmd cycle sends: Create (without attaching), Info, Remove.
constexpr int kRequestsPerCycle = 3;

UniqueFd listen_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd.get(), 128) != 0)
    throw std::system_error(errno, std::generic_category(), "bind/listen " + path);
  return fd;
}

}  // namespace

void control_ops(const BenchConfig& config, Report& report) {
  const std::uint64_t cycles = config.scaled(2'000, 5);
  const std::uint64_t rounds = cycles * kRequestsPerCycle;
  const TempDir dir;
  int round = 0;

  const auto samples = interleaved_samples(config.rounds(), {
      [&] {
        WorkerGroup group(config.worker);
        for (int c = 0; c < kClients; ++c)
          group.add({"control_shmd", config.socket, "bench.ctl." + std::to_string(round) + "." + std::to_string(c) + ".",
                     std::to_string(cycles)});
        ++round;
        const auto t = group.run();
        return static_cast<double>(t.count()) / static_cast<double>(kClients * cycles * kRequestsPerCycle);
      },
      [&] {
        const std::string path = dir.path() + "/pingpong" + std::to_string(round++);
        UniqueFd listener = listen_unix(path);
        ChildProcess server({config.worker, "pingpong_server", std::to_string(kClients)}, {{listener.get(), kResourceFd}});
        listener.reset();
        WorkerGroup group(config.worker);
        for (int c = 0; c < kClients; ++c) group.add({"pingpong_client", path, std::to_string(rounds)});
        const auto t = group.run();
        server.wait();
        return static_cast<double>(t.count()) / static_cast<double>(kClients * rounds);
      },
  });
  report.figure("control_ops/socket_pingpong", samples[0], samples[1], "ns/request", 1.67,
                "8 clients x " + std::to_string(cycles) +
                    " cycles of create (no attach) + info + remove = 3 requests; makespan / requests, vs 8 clients of 32-byte ping / 64-byte pong");
  std::cerr << "shmd_bench: control_ops done\n";
}

}  // namespace shm::bench
