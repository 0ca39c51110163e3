// locked_increment: the lab's exercise 1 pattern, five processes incrementing under one lock.

#include <unistd.h>

#include <iostream>
#include <stdexcept>

#include <boost/interprocess/managed_shared_memory.hpp>

#include "figures.hpp"
#include "memfd.hpp"
#include "python_reference.hpp"
#include "raw_counter.hpp"
#include "sampling.hpp"
#include "shm/shm.hpp"
#include "worker_group.hpp"

namespace shm::bench {
namespace {

namespace bip = boost::interprocess;

constexpr int kProcesses = 5;

/// Removes the Boost reference's /dev/shm object when the figure ends, however it ends.
struct BoostObjectRemover {
  std::string name;  ///< the shared_memory_object's name
  ~BoostObjectRemover() { bip::shared_memory_object::remove(name.c_str()); }
};

void check_total(long long got, std::uint64_t want, const char* what) {
  if (got != static_cast<long long>(want))
    throw std::runtime_error(std::string(what) + ": counter is " + std::to_string(got) + ", expected " +
                             std::to_string(want));
}

}  // namespace

void locked_increment(const BenchConfig& config, Report& report) {
  const std::uint64_t iters = config.scaled(200'000, 5);
  const std::uint64_t total = iters * kProcesses;
  const std::string count = std::to_string(iters);

  Client client(config.socket);
  CreateOptions options;
  options.ephemeral = true;
  auto value = client.create_value<int>("bench.locked", 0, options);

  UniqueFd raw_fd = make_memfd(4096);
  std::error_code ec;
  Mapping raw_map = Mapping::map(raw_fd.get(), 4096, AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  auto* raw = reinterpret_cast<RawLockedCounter*>(raw_map.data());
  init_raw_locked_counter(*raw);

  const BoostObjectRemover remover{"shmd-bench-" + std::to_string(::getpid())};
  bip::shared_memory_object::remove(remover.name.c_str());
  bip::managed_shared_memory boost_segment(bip::create_only, remover.name.c_str(), 64 * 1024);
  auto* boost_counter = boost_segment.construct<BoostLockedCounter>(kBoostCounterName)();

  auto per_op = [&](std::chrono::nanoseconds t) { return static_cast<double>(t.count()) / static_cast<double>(total); };
  const auto samples =
      interleaved_twins(config.rounds(), std::vector<Sample>{
                                             [&] {
                                               value.store(0);
                                               WorkerGroup group(config.worker);
                                               for (int p = 0; p < kProcesses; ++p)
                                                 group.add({"locked_shmd", config.socket, "bench.locked", count});
                                               const double ns = per_op(group.run());
                                               check_total(value.load(), total, "shmd");
                                               return ns;
                                             },
                                             [&] {
                                               raw->value = 0;
                                               WorkerGroup group(config.worker);
                                               for (int p = 0; p < kProcesses; ++p)
                                                 group.add({"locked_robust", count}, raw_fd.get());
                                               const double ns = per_op(group.run());
                                               check_total(raw->value, total, "robust mutex");
                                               return ns;
                                             },
                                             [&] {
                                               boost_counter->value = 0;
                                               WorkerGroup group(config.worker);
                                               for (int p = 0; p < kProcesses; ++p)
                                                 group.add({"locked_boost", remover.name, count});
                                               const double ns = per_op(group.run());
                                               check_total(boost_counter->value, total, "Boost");
                                               return ns;
                                             },
                                         });
  const std::string how = "5 processes x " + count + " locked increments; makespan / total increments";
  report.figure("locked_increment/robust_mutex", samples[0], samples[1], "ns/op", 1.15, how);
  report.figure("locked_increment/boost_interprocess", samples[0], samples[2], "ns/op", 1.05, how);

  const std::uint64_t py_iters = config.scaled(20'000, 4);
  const Twin py = interleaved_twins(
      config.python_rounds(), std::vector<Sample>{[&] {
        return run_python_reference(config, "mp_value.py", {std::to_string(kProcesses), std::to_string(py_iters)});
      }})[0];
  report.figure("locked_increment/python_mp_value", samples[0], py, "ns/op", 0.05,
                "Python: 5 processes x " + std::to_string(py_iters) + " increments under get_lock()");
  std::cerr << "shmd_bench: locked_increment done\n";
}

}  // namespace shm::bench
