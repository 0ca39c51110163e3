#pragma once
/// BenchConfig: what every figure needs to know about this run.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace shm::bench {

/// Where things are, and how big the run is.
struct BenchConfig {
  std::string socket;              ///< the private shmd's socket
  std::string worker;              ///< the shmd_bench_worker binary
  std::string shmctl;              ///< the shmctl binary
  std::string shmd;                ///< the shmd binary, for the figures that start a daemon of their own
  std::string python = "python3";  ///< the Python interpreter for the references
  std::string python_dir;          ///< bench/python, the reference scripts
  pid_t daemon_pid = 0;            ///< the private shmd, for its /proc memory figures
  bool quick = false;              ///< smaller sizes and fewer rounds (about a minute in all)

  /// Rounds of each C++ comparison; the medians are reported.
  [[nodiscard]] int rounds() const noexcept { return quick ? 3 : 15; }
  /// Rounds of each Python reference (slow, so fewer).
  [[nodiscard]] int python_rounds() const noexcept { return quick ? 1 : 7; }
  /// `full` in a full run, `full / divisor` in a quick one.
  [[nodiscard]] std::uint64_t scaled(std::uint64_t full, std::uint64_t divisor) const noexcept {
    return quick ? full / divisor : full;
  }
};

}  // namespace shm::bench
