// attach_detach: attach a segment by name, touch its first byte, detach, on an open connection.

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <iostream>
#include <system_error>

#include "child_process.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "memfd.hpp"
#include "pipe.hpp"
#include "python_reference.hpp"
#include "sampling.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"
#include "shm/wire/fd_passing.hpp"
#include "worker_modes.hpp"

namespace shm::bench {
namespace {

/// The floor client: one request, one reply with an fd, then map, touch, unmap and close.
double floor_per_op(const BenchConfig& config, std::size_t mapping_bytes, std::uint64_t iters) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  UniqueFd mine(pair[0]);
  UniqueFd theirs(pair[1]);
  UniqueFd memfd = make_memfd(mapping_bytes);
  ChildProcess server({config.worker, "fd_floor_server"}, {{theirs.get(), kResourceFd}, {memfd.get(), kResourceFd + 1}});
  theirs.reset();

  const std::array<char, kPingBytes> request{};
  std::array<std::byte, kPongBytes> reply{};
  std::vector<UniqueFd> fds;
  const std::int64_t start = monotonic_ns();
  for (std::uint64_t i = 0; i < iters; ++i) {
    write_all(mine.get(), request.data(), request.size());
    for (std::size_t got = 0; got < reply.size();) {
      std::error_code ec;
      const std::size_t n = wire::recv_with_fds(mine.get(), std::span(reply).subspan(got), fds, ec);
      if (ec || n == 0) throw std::runtime_error("fd floor server went away");
      got += n;
    }
    if (fds.size() != 1) throw std::runtime_error("fd floor server sent no fd");
    std::error_code ec;
    Mapping map = Mapping::map(fds.front().get(), mapping_bytes, Mapping::Access::read_write, ec);
    if (ec) throw std::system_error(ec, "mmap");
    map.data()[kValueDataOffset] = std::byte{1};
    fds.clear();  // munmap happens as `map` goes; close here
  }
  const std::int64_t elapsed = monotonic_ns() - start;
  mine.reset();
  server.wait();
  return static_cast<double>(elapsed) / static_cast<double>(iters);
}

}  // namespace

void attach_detach(const BenchConfig& config, Report& report) {
  const std::uint64_t iters = config.scaled(20'000, 5);
  Client client(config.socket);
  CreateOptions options;
  options.ephemeral = true;
  auto holder = client.create_value<int>("bench.attach", 0, options);
  const auto mapping_bytes = static_cast<std::size_t>(holder.info().mapping_bytes);

  // Python takes its turn in every round too, as the C++ references do: on this VM its speed
  // moved by a third from one run to the next, and samples taken in a later stretch of the run
  // than shmd's compare two different machines.
  const std::uint64_t py_iters = config.scaled(20'000, 5);
  const auto samples = interleaved_samples(config.rounds(), {
      [&] {
        const std::int64_t start = monotonic_ns();
        for (std::uint64_t i = 0; i < iters; ++i) {
          auto v = client.attach_value<int>("bench.attach");
          v.segment().bytes()[0] = std::byte{1};
        }  // destroying the handle unmaps and detaches
        return static_cast<double>(monotonic_ns() - start) / static_cast<double>(iters);
      },
      [&] { return floor_per_op(config, mapping_bytes, iters); },
      [&] { return run_python_reference(config, "shared_memory_attach.py", {std::to_string(py_iters)}); },
  });
  report.figure("attach_detach/fd_pass_floor", samples[0], samples[1], "ns/op", 1.5,
                std::to_string(iters) + " cycles on one connection; floor = 1 request + SCM_RIGHTS reply + mmap/touch/munmap/close");
  report.figure("attach_detach/python_shared_memory", samples[0], samples[2], "ns/op", 1.0,
                "Python: " + std::to_string(py_iters) + " x SharedMemory(name=...), buf[0] = 1, close(), in every round");
  std::cerr << "shmd_bench: attach_detach done\n";
}

}  // namespace shm::bench
