// wake: how long a change in one process takes to wake a waiter in another, and what notifying
// costs the writers that nobody waits for.

#include <sys/socket.h>

#include <iostream>
#include <stdexcept>
#include <system_error>

#include "cpu_record.hpp"
#include "figures.hpp"
#include "memfd.hpp"
#include "sampling.hpp"
#include "shm/shm.hpp"
#include "worker_group.hpp"

namespace shm::bench {
namespace {

constexpr int kIncrementProcesses = 5;  ///< as in atomic_increment and locked_increment

/// One end each of a fresh Unix stream socket pair.
std::pair<UniqueFd, UniqueFd> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

void wake(const BenchConfig& config, Report& report) {
  Client client(config.socket);
  CreateOptions options;
  options.ephemeral = true;

  // A ping-pong: two processes take turns, each waking the other. Per wake: makespan / (2 rounds).
  const std::uint64_t rounds = config.scaled(20'000, 10);
  const std::string rounds_text = std::to_string(rounds);
  auto per_wake = [&](std::chrono::nanoseconds t) {
    return static_cast<double>(t.count()) / static_cast<double>(2 * rounds);
  };
  // shmd's wait() polls its word for change_word::busy_poll() before it sleeps; the references poll
  // as long (the futex floor its word, the socket reader with non-blocking reads), as the best each
  // can do, and the socket reader once more blocked in read() at once, the usual way. The CPU time
  // each side spends per wake is reported beside the ratios.
  const std::string window = std::to_string(change_word::busy_poll().count());
  int round = 0;
  CpuRecord shmd_cpu, futex_cpu, socket_cpu, blocking_cpu;
  auto record = [&](CpuRecord& cpu, int turn, WorkerGroup& group) {
    const double ns = per_wake(group.run());
    cpu.add(turn, per_wake(group.workers_cpu()), per_wake(group.watched_cpu()));
    return ns;
  };
  auto socket_side = [&](const std::string& poll, CpuRecord& cpu) {
    return [&, poll](int turn) {
      auto [ping_end, pong_end] = socket_pair();
      WorkerGroup group(config.worker);
      group.add({"wake_socket", "ping", rounds_text, poll}, ping_end.get());
      group.add({"wake_socket", "pong", rounds_text, poll}, pong_end.get());
      return record(cpu, turn, group);
    };
  };
  auto shmd_side = [&](int turn) {
    const std::string ping = "bench.wake.ping." + std::to_string(round);
    const std::string pong = "bench.wake.pong." + std::to_string(round++);
    auto a = client.create_value<int>(ping, 0, options);
    auto b = client.create_value<int>(pong, 0, options);
    WorkerGroup group(config.worker);
    group.add({"wake_shmd", config.socket, "ping", ping, pong, rounds_text});
    group.add({"wake_shmd", config.socket, "pong", ping, pong, rounds_text});
    group.watch(config.daemon_pid);  // not on the path: what it spends meanwhile shows that
    const double ns = record(shmd_cpu, turn, group);
    if (static_cast<std::uint64_t>(b.load()) != rounds) throw std::runtime_error("shmd ping-pong ended early");
    return ns;
  };
  auto futex_side = [&](int turn) {
    UniqueFd memfd = make_memfd(4096);
    WorkerGroup group(config.worker);
    group.add({"wake_futex", "ping", rounds_text, window}, memfd.get());
    group.add({"wake_futex", "pong", rounds_text, window}, memfd.get());
    return record(futex_cpu, turn, group);
  };
  const auto wakes = interleaved_twins(
      config.rounds(),
      std::vector<TurnSample>{shmd_side, futex_side, socket_side(window, socket_cpu), socket_side("0", blocking_cpu)});
  const std::string how = " process pair, " + rounds_text + " round trips; makespan / wakes";
  report.figure("wake/futex_floor", wakes[0], wakes[1], "ns/wake", 1.2,
                "Value store to the other's wait() returning" + how +
                    "; reference: a bare shared FUTEX_WAKE after every store on a raw memfd mapping, the waiter "
                    "polling the word for " +
                    window + " us first as wait() does");
  report.figure("wake/unix_socket", wakes[0], wakes[2], "ns/wake", 0.8,
                "Value store to the other's wait() returning" + how +
                    "; reference: one byte written on a Unix socket to a reader that polls it with non-blocking "
                    "reads for " +
                    window + " us, then blocks in read()");
  report.figure("wake/unix_socket_blocking", wakes[0], wakes[3], "ns/wake", 0.8,
                "as wake/unix_socket, the reader blocked in read() at once (the usual way)");
  shmd_cpu.report_absolute(report, "cpu/wake/shmd", wakes[0], "daemon", "shmd's ping-pong (wait() polls, then sleeps)");
  futex_cpu.report_absolute(report, "cpu/wake/futex_floor", wakes[1], "no server", "the polled futex floor");
  socket_cpu.report_absolute(report, "cpu/wake/unix_socket", wakes[2], "no server", "the polled socket reader");
  blocking_cpu.report_absolute(report, "cpu/wake/unix_socket_blocking", wakes[3], "no server",
                               "the socket reader blocked in read()");

  // What notify adds with nobody waiting: the same loops on the same Value, once through the
  // library (which notifies) and once on the same memory without it.
  const std::uint64_t atomic_iters = config.scaled(2'000'000, 5);
  const std::uint64_t locked_iters = config.scaled(200'000, 5);
  for (const bool locked : {false, true}) {
    const std::uint64_t iters = locked ? locked_iters : atomic_iters;
    const std::string count = std::to_string(iters);
    const std::uint64_t total = iters * kIncrementProcesses;
    const std::string name = locked ? "bench.notify.locked" : "bench.notify.atomic";
    auto value = client.create_value<int>(name, 0, options);
    auto per_op = [&](std::chrono::nanoseconds t) {
      return static_cast<double>(t.count()) / static_cast<double>(total);
    };
    auto side = [&](const char* mode) {
      return [&, mode] {
        value.store(0);
        WorkerGroup group(config.worker);
        for (int p = 0; p < kIncrementProcesses; ++p) group.add({mode, config.socket, name, count});
        const double ns = per_op(group.run());
        if (static_cast<std::uint64_t>(value.load()) != total)
          throw std::runtime_error(std::string(mode) + ": count is wrong");
        return ns;
      };
    };
    const auto costs = interleaved_twins(config.rounds(), std::vector<Sample>{
                                                              side(locked ? "locked_shmd" : "atomic_shmd"),
                                                              side(locked ? "locked_shmd_quiet" : "atomic_shmd_quiet"),
                                                          });
    if (locked)
      report.figure(
          "wake/notify_locked_increment", costs[0], costs[1], "ns/op", 1.05,
          "locked_increment's loop (5 processes x " + count +
              "), no waiter; reference: the same lock and unlock of the same mutex without the guard's notify");
    else
      report.figure("wake/notify_atomic_increment", costs[0], costs[1], "ns/op", 1.05,
                    "atomic_increment's loop (5 processes x " + count +
                        " fetch_add(1)), no waiter; reference: the same fetch_add on the same element without notify");
  }
  std::cerr << "shmd_bench: wake done\n";
}

}  // namespace shm::bench
