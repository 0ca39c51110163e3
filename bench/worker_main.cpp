// shmd_bench_worker MODE ARGS...: one benchmark worker process (see worker_modes.hpp).
// Spawned by shmd_bench with the go pipe on fd 3, the report pipe on fd 4, and the figure's
// own descriptor on fd 5.

#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <string_view>

#include "worker_gate.hpp"
#include "worker_modes.hpp"

int main(int argc, char** argv) {
  using namespace shm::bench;
  static const std::map<std::string_view, std::function<void(const WorkerArgs&)>> modes{
      {"locked_shmd", locked_shmd},
      {"locked_robust", locked_robust},
      {"locked_boost", locked_boost},
      {"atomic_shmd", atomic_shmd},
      {"atomic_raw", atomic_raw},
      {"square_shmd", square_shmd},
      {"square_raw", square_raw},
      {"control_shmd", control_shmd},
      {"pingpong_client", pingpong_client},
      {"pingpong_server", pingpong_server},
      {"fd_floor_server", fd_floor_server},
      {"wake_shmd", wake_shmd},
      {"wake_futex", wake_futex},
      {"wake_socket", wake_socket},
      {"atomic_shmd_quiet", atomic_shmd_quiet},
      {"locked_shmd_quiet", locked_shmd_quiet},
  };
  if (argc < 2 || !modes.contains(argv[1])) {
    std::cerr << "usage: shmd_bench_worker MODE ARGS... (spawned by shmd_bench)\n";
    return 2;
  }
  const WorkerArgs args(argv + 2, argv + argc);
  try {
    modes.at(argv[1])(args);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "shmd_bench_worker " << argv[1] << ": " << e.what() << '\n';
    report_failed();
    return 1;
  }
}
