// attach_detach: attach a segment by name, touch its first byte, detach, on an open connection.

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <system_error>

#include "busy_wait.hpp"
#include "child_process.hpp"
#include "cpu_record.hpp"
#include "cpu_time.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "memfd.hpp"
#include "pipe.hpp"
#include "private_daemon.hpp"
#include "python_reference.hpp"
#include "sampling.hpp"
#include "shm/busy_poll.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"
#include "shm/wire/fd_passing.hpp"
#include "worker_modes.hpp"

namespace shm::bench {
namespace {

using std::chrono::microseconds;

/// The floor client: one request, one reply with an fd, then map, touch, unmap and close. With a
/// busy-poll window both ends poll as shmd's do (the server as the daemon's event loop, this
/// client as libshmclient's wait for a reply); without one both sleep in read()/recvmsg(). With
/// `detach`, a one-way detach message follows the close, as libshmclient's Detach does.
double floor_per_op(const BenchConfig& config, std::size_t mapping_bytes, std::uint64_t iters, microseconds busy_poll,
                    bool detach, CpuRecord& cpu, int turn) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  UniqueFd mine(pair[0]);
  UniqueFd theirs(pair[1]);
  UniqueFd memfd = make_memfd(mapping_bytes);
  ChildProcess server({config.worker, "fd_floor_server", std::to_string(busy_poll.count()), detach ? "1" : "0"},
                      {{theirs.get(), kResourceFd}, {memfd.get(), kResourceFd + 1}});
  theirs.reset();
  const microseconds window = usable_busy_poll(busy_poll);

  const std::array<char, kPingBytes> request{};
  std::array<std::byte, kPongBytes> reply{};
  std::vector<UniqueFd> fds;
  const std::int64_t server_cpu = process_cpu_ns(server.pid());
  const std::int64_t own_cpu = own_cpu_ns();
  const std::int64_t start = monotonic_ns();
  for (std::uint64_t i = 0; i < iters; ++i) {
    write_all(mine.get(), request.data(), request.size());
    if (window > microseconds::zero()) wait_readable(mine.get(), window);
    for (std::size_t got = 0; got < reply.size();) {
      std::error_code ec;
      const std::size_t n = wire::recv_with_fds(mine.get(), std::span(reply).subspan(got), fds, ec);
      if (ec || n == 0) throw std::runtime_error("fd floor server went away");
      got += n;
    }
    if (fds.size() != 1) throw std::runtime_error("fd floor server sent no fd");
    std::error_code ec;
    {
      Mapping map = Mapping::map(fds.front().get(), mapping_bytes, AccessMode::read_write, ec);
      if (ec) throw std::system_error(ec, "mmap");
      map.data()[kValueDataOffset] = std::byte{1};
      fds.clear();  // close; munmap as `map` goes
    }
    if (detach) write_all(mine.get(), request.data(), request.size());  // after the munmap, as shmd's
  }
  const std::int64_t elapsed = monotonic_ns() - start;
  const auto per_op = [iters](std::int64_t ns) { return static_cast<double>(ns) / static_cast<double>(iters); };
  cpu.add(turn, per_op(own_cpu_ns() - own_cpu), per_op(process_cpu_ns(server.pid()) - server_cpu));  // still running
  mine.reset();
  server.wait();
  return per_op(elapsed);
}

/// shmd's cycle on `client`'s connection to the daemon `daemon`: attach by name, touch, drop.
double shmd_per_op(Client& client, pid_t daemon, std::uint64_t iters, CpuRecord& cpu, int turn) {
  const std::int64_t daemon_cpu = process_cpu_ns(daemon);
  const std::int64_t own_cpu = own_cpu_ns();
  const std::int64_t start = monotonic_ns();
  for (std::uint64_t i = 0; i < iters; ++i) {
    auto v = client.attach_value<int>("bench.attach");
    v.segment().bytes()[0] = std::byte{1};
  }  // destroying the handle unmaps and detaches
  const std::int64_t elapsed = monotonic_ns() - start;
  const auto per_op = [iters](std::int64_t ns) { return static_cast<double>(ns) / static_cast<double>(iters); };
  cpu.add(turn, per_op(own_cpu_ns() - own_cpu), per_op(process_cpu_ns(daemon) - daemon_cpu));
  return per_op(elapsed);
}

}  // namespace

void attach_detach(const BenchConfig& config, Report& report) {
  const std::uint64_t iters = config.scaled(20'000, 5);
  CreateOptions options;
  options.ephemeral = true;
  Client client(config.socket);
  auto holder = client.create_value<int>("bench.attach", 0, options);
  const auto mapping_bytes = static_cast<std::size_t>(holder.info().mapping_bytes);
  // shmd without busy polling at either end: a daemon of its own with --busy-poll-us 0, and a
  // client whose polling is off (Client::set_busy_poll(0)).
  const PrivateDaemon still(config.shmd, {"--busy-poll-us", "0"});
  Client still_client(still.socket());
  still_client.set_busy_poll(microseconds::zero());
  auto still_holder = still_client.create_value<int>("bench.attach", 0, options);

  // Python takes its turn in every round too, as the C++ references do: on this VM its speed
  // moved by a third from one run to the next, and samples taken in a later stretch of the run
  // than shmd's compare two different machines.
  const std::uint64_t py_iters = config.scaled(20'000, 5);
  CpuRecord shmd_cpu, still_cpu, floor_cpu, polled_cpu, detach_cpu;
  const auto t = interleaved_twins(
      config.rounds(),
      std::vector<TurnSample>{
          [&](int turn) { return shmd_per_op(client, config.daemon_pid, iters, shmd_cpu, turn); },
          [&](int turn) {
            return floor_per_op(config, mapping_bytes, iters, microseconds::zero(), false, floor_cpu, turn);
          },
          [&](int turn) {
            return floor_per_op(config, mapping_bytes, iters, kDefaultBusyPoll, false, polled_cpu, turn);
          },
          [&](int) { return run_python_reference(config, "shared_memory_attach.py", {std::to_string(py_iters)}); },
          [&](int turn) { return shmd_per_op(still_client, still.pid(), iters, still_cpu, turn); },
          [&](int turn) {
            return floor_per_op(config, mapping_bytes, iters, kDefaultBusyPoll, true, detach_cpu, turn);
          },
      });
  const std::string cycles = std::to_string(iters) + " cycles on one connection";
  const std::string floor = "floor = 1 request + SCM_RIGHTS reply + mmap/touch/munmap/close";
  const std::string polled = "both ends poll as shmd's do (" + std::to_string(kDefaultBusyPoll.count()) +
                             " us window: the server as shmd's event loop, the client as libshmclient)";
  report.figure("attach_detach/fd_pass_floor", t[0], t[1], "ns/op", 1.5,
                cycles + "; " + floor + ", both ends asleep in read()/recvmsg()");
  report.figure("attach_detach/fd_pass_floor_polled", t[0], t[2], "ns/op", 1.3, cycles + "; " + floor + "; " + polled);
  report.figure(
      "attach_detach/python_shared_memory", t[0], t[3], "ns/op", 1.0,
      "Python: " + std::to_string(py_iters) + " x SharedMemory(name=...), buf[0] = 1, close(), in every round");
  report.figure(
      "cpu/attach_detach", shmd_cpu.total(), polled_cpu.total(), "ns CPU/op", 1.5,
      "CPU time per cycle, daemon + client (process CPU clocks, ns), shmd against the polled floor's server + client");
  // The least a broker that counts references must do: the polled floor plus a one-way detach
  // message per cycle, as shmd's. Not the floor (above): how far shmd's own work takes it
  // past that least.
  report.figure("attach_detach/fd_pass_detach_floor_polled", t[0], t[5], "ns/op", 1.3,
                cycles + "; " + floor + " + a one-way 32-byte detach message; " + polled);
  report.figure("cpu/attach_detach_detach_floor", shmd_cpu.total(), detach_cpu.total(), "ns CPU/op", 1.5,
                "CPU time per cycle, daemon + client, shmd against the polled floor's with a detach message");
  shmd_cpu.report_absolute(report, "cpu/attach_detach/shmd", t[0], "daemon", "shmd as run (busy polling at both ends)");
  still_cpu.report_absolute(report, "cpu/attach_detach/shmd_no_polling", t[4], "daemon",
                            "a second shmd with --busy-poll-us 0, the client's set_busy_poll(0)");
  polled_cpu.report_absolute(report, "cpu/attach_detach/fd_pass_floor_polled", t[2], "server", "the polled floor");
  floor_cpu.report_absolute(report, "cpu/attach_detach/fd_pass_floor", t[1], "server", "the sleeping floor");
  detach_cpu.report_absolute(report, "cpu/attach_detach/fd_pass_detach_floor_polled", t[5], "server",
                             "the polled floor with a detach message");
  std::cerr << "shmd_bench: attach_detach done\n";
}

}  // namespace shm::bench
