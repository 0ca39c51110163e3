// atomic_increment: five processes fetch_add on one shared int, no lock.

#include <iostream>
#include <stdexcept>

#include "figures.hpp"
#include "memfd.hpp"
#include "raw_counter.hpp"
#include "sampling.hpp"
#include "shm/shm.hpp"
#include "worker_group.hpp"

namespace shm::bench {

void atomic_increment(const BenchConfig& config, Report& report) {
  constexpr int kProcesses = 5;
  const std::uint64_t iters = config.scaled(2'000'000, 5);
  const std::uint64_t total = iters * kProcesses;
  const std::string count = std::to_string(iters);

  Client client(config.socket);
  CreateOptions options;
  options.ephemeral = true;

  // Each round counts on a fresh page on both sides. With five processes on two CPUs the figure
  // is the cache line's trips between the CPUs, and what one trip costs depends on where the
  // page happens to sit in physical memory; a page kept for the whole run would favour one side
  // for all its rounds.
  int shmd_round = 0;
  auto per_op = [&](std::chrono::nanoseconds t) { return static_cast<double>(t.count()) / static_cast<double>(total); };
  const auto samples = interleaved_twins(
      config.rounds(), std::vector<Sample>{
                           [&] {
                             const std::string name = "bench.atomic." + std::to_string(shmd_round++);
                             auto value = client.create_value<int>(name, 0, options);
                             WorkerGroup group(config.worker);
                             for (int p = 0; p < kProcesses; ++p)
                               group.add({"atomic_shmd", config.socket, name, count});
                             const double ns = per_op(group.run());
                             if (static_cast<std::uint64_t>(value.load()) != total)
                               throw std::runtime_error("shmd atomic count is wrong");
                             return ns;
                           },
                           [&] {
                             UniqueFd raw_fd = make_memfd(4096);
                             std::error_code ec;
                             Mapping raw_map = Mapping::map(raw_fd.get(), 4096, AccessMode::read_write, ec);
                             if (ec) throw std::system_error(ec, "mmap");
                             auto* raw = new (raw_map.data() + kRawAtomicOffset) RawAtomicCounter{};
                             WorkerGroup group(config.worker);
                             for (int p = 0; p < kProcesses; ++p) group.add({"atomic_raw", count}, raw_fd.get());
                             const double ns = per_op(group.run());
                             if (static_cast<std::uint64_t>(raw->value.load()) != total)
                               throw std::runtime_error("raw atomic count is wrong");
                             return ns;
                           },
                       });
  report.figure("atomic_increment/std_atomic", samples[0], samples[1], "ns/op", 1.10,
                "5 processes x " + count + " fetch_add(1); makespan / total increments");
  std::cerr << "shmd_bench: atomic_increment done\n";
}

}  // namespace shm::bench
