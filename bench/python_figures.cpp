// python_figures: the Python client (shmd._core) against Python's own shared objects, each side
// a run of bench/python/shmd_python.py, the two sides taking turns round after round.

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "figures.hpp"
#include "python_reference.hpp"
#include "sampling.hpp"

namespace shm::bench {
namespace {

/// One side of one figure: runs of shmd_python.py, with the CPU columns each run printed.
class PythonSide {
 public:
  PythonSide(const BenchConfig& config, std::string figure, std::string side, std::vector<std::string> args)
      : config_(config), figure_(std::move(figure)), side_(std::move(side)), args_(std::move(args)) {}

  /// One run: its wall-clock cost per operation; its CPU columns are kept, but not a warm-up's.
  double operator()(int turn) {
    std::vector<std::string> argv{figure_, side_, config_.socket, std::to_string(config_.daemon_pid)};
    argv.insert(argv.end(), args_.begin(), args_.end());
    const std::vector<double> costs = run_python_costs(config_, "shmd_python.py", argv, 3);
    if (turn != kWarmUp) {
      cpu_.push_back(costs[1]);
      daemon_cpu_.push_back(costs[2]);
    }
    return costs[0];
  }

  /// This process's CPU time per operation, one per run.
  [[nodiscard]] const Samples& cpu() const noexcept { return cpu_; }
  /// The daemon's CPU time per operation, one per run.
  [[nodiscard]] const Samples& daemon_cpu() const noexcept { return daemon_cpu_; }

 private:
  const BenchConfig& config_;
  std::string figure_;
  std::string side_;
  std::vector<std::string> args_;
  Samples cpu_;
  Samples daemon_cpu_;
};

/// A sampler that runs `side` (kept by reference: it collects the CPU columns).
TurnSample sampler(PythonSide& side) {
  return [&side](int turn) { return side(turn); };
}

}  // namespace

void python_figures(const BenchConfig& config, Report& report) {
  // Each sample is a fresh interpreter (a fresh set of processes for locked_increment): nothing a
  // previous sample left in the heap or the page cache is measured twice, and the sides alternate.
  const int rounds = config.quick ? 3 : 7;
  const std::string fork_note =
      "5 processes (fork), each adding N times under the lock: with v.get_lock(): v.value += 1";
  {
    const std::uint64_t iters = config.scaled(20'000, 5);
    PythonSide shmd(config, "locked_increment", "shmd", {std::to_string(iters)});
    PythonSide reference(config, "locked_increment", "reference", {std::to_string(iters)});
    const auto samples = interleaved_twins(rounds, std::vector<TurnSample>{sampler(shmd), sampler(reference)});
    report.figure("python/locked_increment", samples[0], samples[1], "ns/op", 0.5,
                  fork_note + ", N = " + std::to_string(iters) +
                      "; shmd Value vs multiprocessing.Value('i'); (last finish - first start) / total");
    std::cerr << "shmd_bench: python/locked_increment done\n";
  }
  {
    const std::uint64_t iters = config.scaled(5'000, 5);
    PythonSide shmd(config, "attach", "shmd", {std::to_string(iters)});
    PythonSide reference(config, "attach", "reference", {std::to_string(iters)});
    PythonSide tracked(config, "attach", "reference_tracked", {std::to_string(iters)});
    const auto samples = interleaved_twins(
        config.rounds(), std::vector<TurnSample>{sampler(shmd), sampler(reference), sampler(tracked)});
    report.figure("python/attach", samples[0], samples[1], "ns/op", 1.0,
                  std::to_string(iters) +
                      " x Client.attach_value(name), v.value = 1, drop it vs SharedMemory(name=...), "
                      "buf[0] = 1, close(), without the resource tracker (as 3.13's track=False)");
    // The same against SharedMemory as the interpreter shmd targets (Debian 12's 3.11) ships it:
    // every open registers with the resource tracker, and no public call leaves that out. Not the
    // issue's figure (python/attach above compares with the best SharedMemory can do).
    report.figure("python/attach_tracked", samples[0], samples[2], "ns/op", 1.0,
                  std::to_string(iters) +
                      " x the same shmd cycle vs SharedMemory(name=...), buf[0] = 1, close(), as 3.11 ships it "
                      "(registered with the resource tracker)");
    // Wall time hides what busy polling spends: the CPU each side burns per cycle, beside it.
    report.absolute("python/attach_cpu_shmd_client", median(shmd.cpu()), "ns/op", std::nullopt, false,
                    "the shmd side's process CPU time (user + system) per cycle; its wall time is the figure's");
    report.absolute("python/attach_cpu_shmd_daemon", median(shmd.daemon_cpu()), "ns/op", std::nullopt, false,
                    "the daemon's CPU time per shmd cycle (/proc/<shmd>/stat, 10 ms ticks)");
    report.absolute("python/attach_cpu_reference", median(reference.cpu()), "ns/op", std::nullopt, false,
                    "SharedMemory's process CPU time per cycle (no other process involved)");
    report.absolute("python/attach_reference_tracked", median(samples[2].first), "ns/op", std::nullopt, false,
                    "SharedMemory as 3.11 ships it: every open also registers with the resource tracker (wall time; "
                    "CPU " +
                        std::to_string(static_cast<long>(std::lround(median(tracked.cpu())))) +
                        " ns/op in this process)");
    std::cerr << "shmd_bench: python/attach done\n";
  }
  {
    const std::uint64_t n = 1'000'000;
    const std::uint64_t reads = config.quick ? 3 : 10;
    PythonSide shmd(config, "array_slice_read", "shmd", {std::to_string(n), std::to_string(reads)});
    PythonSide reference(config, "array_slice_read", "reference", {std::to_string(n), std::to_string(reads)});
    const auto samples = interleaved_twins(config.rounds(), std::vector<TurnSample>{sampler(shmd), sampler(reference)});
    report.figure("python/array_slice_read", samples[0], samples[1], "ns/element", 1.0,
                  std::to_string(reads) + " x a[:] of " + std::to_string(n) +
                      " 'i' elements: shmd Array vs multiprocessing.Array('i', n, lock=False)");
    std::cerr << "shmd_bench: python/array_slice_read done\n";
  }
  {
    const std::uint64_t n = std::uint64_t{16} << 20;
    const std::uint64_t repeats = config.quick ? 2 : 5;
    PythonSide shmd(config, "numpy_square", "shmd", {std::to_string(n), std::to_string(repeats)});
    PythonSide reference(config, "numpy_square", "reference", {std::to_string(n), std::to_string(repeats)});
    const auto samples = interleaved_twins(config.rounds(), std::vector<TurnSample>{sampler(shmd), sampler(reference)});
    report.figure("python/numpy_square", samples[0], samples[1], "ns/element", 1.1,
                  std::to_string(repeats) + " x numpy.square(x, out=x) over " + std::to_string(n) +
                      " int32: x = numpy.frombuffer(shmd Array) vs numpy.empty (private memory)");
    std::cerr << "shmd_bench: python/numpy_square done\n";
  }
}

}  // namespace shm::bench
