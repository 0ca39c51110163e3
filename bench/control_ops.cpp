// control_ops: eight clients issuing small control requests, against a bare socket ping-pong.

#include <chrono>
#include <iostream>

#include "child_process.hpp"
#include "cpu_record.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "private_daemon.hpp"
#include "sampling.hpp"
#include "shm/busy_poll.hpp"
#include "shm/unique_fd.hpp"
#include "temp_dir.hpp"
#include "unix_socket.hpp"
#include "worker_group.hpp"
#include "worker_modes.hpp"

namespace shm::bench {
namespace {

using std::chrono::microseconds;

constexpr int kClients = 8;

double per(std::chrono::nanoseconds t, std::uint64_t ops) {
  return static_cast<double>(t.count()) / static_cast<double>(ops);
}

}  // namespace

void control_ops(const BenchConfig& config, Report& report) {
  const std::uint64_t cycles = config.scaled(2'000, 5);
  const std::uint64_t rounds = cycles * kControlRequestsPerCycle;
  const std::uint64_t requests = kClients * cycles * kControlRequestsPerCycle;
  const TempDir dir;
  int round = 0;
  // shmd without busy polling at either end: a daemon of its own with --busy-poll-us 0, and
  // clients whose polling is off (Client::set_busy_poll(0), the workers' last argument).
  const PrivateDaemon still(config.shmd, {"--busy-poll-us", "0"});

  // The shmd side on `socket`: eight clients cycling create/info/remove, polling `poll` per reply.
  auto shmd_side = [&](const std::string& socket, pid_t daemon, microseconds poll, CpuRecord& cpu, int turn) {
    WorkerGroup group(config.worker);
    for (int c = 0; c < kClients; ++c)
      group.add({"control_shmd", socket, "bench.ctl." + std::to_string(round) + "." + std::to_string(c) + ".",
                 std::to_string(cycles), std::to_string(poll.count())});
    ++round;
    group.watch(daemon);
    const auto t = group.run();
    cpu.add(turn, per(group.workers_cpu(), requests), per(group.watched_cpu(), requests));
    return per(t, requests);
  };
  // The reference: the same eight clients' worth of 32-byte pings and 64-byte pongs, both ends
  // polling `poll` as shmd's do (0: asleep); with `memfds`, the server also makes and closes a
  // Value's memfd per three requests, as a create and a remove do.
  auto pingpong = [&](microseconds poll, bool memfds, CpuRecord& cpu, int turn) {
    const std::string path = dir.path() + "/pingpong" + std::to_string(round++);
    UniqueFd listener = listen_unix(path);
    // One more connection, ours, idle: the server exits when its last client leaves, and must
    // still be there when its CPU time is read after the last worker's finish.
    ChildProcess server({config.worker, "pingpong_server", std::to_string(kClients + 1), std::to_string(poll.count()),
                         memfds ? "1" : "0"},
                        {{listener.get(), kResourceFd}});
    listener.reset();
    UniqueFd keep_alive = connect_unix(path);
    WorkerGroup group(config.worker);
    for (int c = 0; c < kClients; ++c)
      group.add({"pingpong_client", path, std::to_string(rounds), std::to_string(poll.count())});
    group.watch(server.pid());
    const auto t = group.run();
    cpu.add(turn, per(group.workers_cpu(), kClients * rounds), per(group.watched_cpu(), kClients * rounds));
    keep_alive.reset();
    server.wait();
    return per(t, kClients * rounds);
  };

  CpuRecord shmd_cpu, still_cpu, pingpong_cpu, polled_cpu, memfd_cpu;
  const auto t = interleaved_twins(
      config.rounds(),
      std::vector<TurnSample>{
          [&](int turn) { return shmd_side(config.socket, config.daemon_pid, kDefaultBusyPoll, shmd_cpu, turn); },
          [&](int turn) { return pingpong(microseconds::zero(), false, pingpong_cpu, turn); },
          [&](int turn) { return pingpong(kDefaultBusyPoll, false, polled_cpu, turn); },
          [&](int turn) { return shmd_side(still.socket(), still.pid(), microseconds::zero(), still_cpu, turn); },
          [&](int turn) { return pingpong(kDefaultBusyPoll, true, memfd_cpu, turn); },
      });
  const std::string how =
      "8 clients x " + std::to_string(cycles) +
      " cycles of create (no attach) + info + remove = 3 requests; makespan / requests, vs 8 clients of "
      "32-byte ping / 64-byte pong with a single-threaded epoll server";
  report.figure("control_ops/socket_pingpong", t[0], t[1], "ns/request", 1.67, how + ", both ends asleep");
  report.figure("control_ops/socket_pingpong_polled", t[0], t[2], "ns/request", 1.3,
                how + ", both ends polling as shmd's do (" + std::to_string(kDefaultBusyPoll.count()) + " us window)");
  report.figure(
      "cpu/control_ops", shmd_cpu.total(), polled_cpu.total(), "ns CPU/request", 1.5,
      "CPU time per request, daemon + 8 clients (process CPU clocks, ns), shmd against the polled ping-pong's");
  // The least a broker of sealed memfds must do for the same requests: the polled ping-pong plus
  // the kernel's work of making and closing each create's memfd. Not the floor (above):
  // how far shmd's own work (protocol, registry, Asio) takes it past that least.
  const std::string memfd_how =
      how +
      ", both ends polling, the server making a Value's memfd per create as shmd does (memfd_create, "
      "fchmod, pwritev, seals) and closing it per remove";
  report.figure("control_ops/memfd_pingpong_polled", t[0], t[4], "ns/request", 1.3, memfd_how);
  report.figure("cpu/control_ops_memfd", shmd_cpu.total(), memfd_cpu.total(), "ns CPU/request", 1.5,
                "CPU time per request, daemon + 8 clients, shmd against the polled ping-pong's that makes memfds");
  shmd_cpu.report_absolute(report, "cpu/control_ops/shmd", t[0], "daemon", "shmd as run (busy polling at both ends)");
  still_cpu.report_absolute(report, "cpu/control_ops/shmd_no_polling", t[3], "daemon",
                            "a second shmd with --busy-poll-us 0, the clients' set_busy_poll(0)");
  polled_cpu.report_absolute(report, "cpu/control_ops/socket_pingpong_polled", t[2], "server", "the polled ping-pong");
  pingpong_cpu.report_absolute(report, "cpu/control_ops/socket_pingpong", t[1], "server", "the sleeping ping-pong");
  memfd_cpu.report_absolute(report, "cpu/control_ops/memfd_pingpong_polled", t[4], "server",
                            "the polled ping-pong that makes and closes memfds");
  std::cerr << "shmd_bench: control_ops done\n";
}

}  // namespace shm::bench
