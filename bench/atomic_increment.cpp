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
  auto value = client.create_value<int>("bench.atomic", 0, options);

  UniqueFd raw_fd = make_memfd(4096);
  std::error_code ec;
  Mapping raw_map = Mapping::map(raw_fd.get(), 4096, Mapping::Access::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  auto* raw = new (raw_map.data()) RawAtomicCounter{};

  auto per_op = [&](std::chrono::nanoseconds t) { return static_cast<double>(t.count()) / static_cast<double>(total); };
  const auto samples = interleaved_samples(config.rounds(), {
      [&] {
        value.store(0);
        WorkerGroup group(config.worker);
        for (int p = 0; p < kProcesses; ++p) group.add({"atomic_shmd", config.socket, "bench.atomic", count});
        const double ns = per_op(group.run());
        if (static_cast<std::uint64_t>(value.load()) != total) throw std::runtime_error("shmd atomic count is wrong");
        return ns;
      },
      [&] {
        raw->value = 0;
        WorkerGroup group(config.worker);
        for (int p = 0; p < kProcesses; ++p) group.add({"atomic_raw", count}, raw_fd.get());
        const double ns = per_op(group.run());
        if (static_cast<std::uint64_t>(raw->value.load()) != total) throw std::runtime_error("raw atomic count is wrong");
        return ns;
      },
  });
  report.figure("atomic_increment/std_atomic", samples[0], samples[1], "ns/op", 1.10,
                "5 processes x " + count + " fetch_add(1); makespan / total increments");
  std::cerr << "shmd_bench: atomic_increment done\n";
}

}  // namespace shm::bench
