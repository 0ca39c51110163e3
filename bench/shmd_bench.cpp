// shmd_bench: measures shmd against its references in one run and prints the JSON report.
// scripts/bench builds it, starts a private shmd, runs this, and formats the table.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <iostream>

#include "bench_config.hpp"
#include "figures.hpp"
#include "machine_info.hpp"
#include "report.hpp"

int main(int argc, char** argv) {
  using namespace shm::bench;
  BenchConfig config;
  CLI::App app{"shmd_bench: shmd against its peers, as ratios measured in the same run (JSON on stdout)"};
  app.add_option("--socket", config.socket, "The private shmd's socket")->required();
  app.add_option("--daemon-pid", config.daemon_pid, "That shmd's pid (for its memory figures)")->required();
  app.add_option("--worker", config.worker, "The shmd_bench_worker binary")->required();
  app.add_option("--shmctl", config.shmctl, "The shmctl binary")->required();
  app.add_option("--shmd", config.shmd, "The shmd binary (for a second daemon run with --busy-poll-us 0)")->required();
  app.add_option("--python-dir", config.python_dir, "bench/python, the reference scripts")->required();
  app.add_option("--python", config.python, "Python interpreter")->capture_default_str();
  app.add_flag("--quick", config.quick, "Smaller sizes and fewer rounds (about a minute)");
  std::vector<std::string> only;
  app.add_option("--only", only,
                 "Run only these figure groups (locked, atomic, attach, control, idle, square, python, scale, wake)");
  CLI11_PARSE(app, argc, argv);

  const std::vector<std::pair<std::string, void (*)(const BenchConfig&, Report&)>> groups{
      {"locked", locked_increment},
      {"atomic", atomic_increment},
      {"attach", attach_detach},
      {"control", control_ops},
      {"idle", idle_daemon},
      {"square", bulk_square},
      {"python", python_figures},
      {"scale", scale},
      {"wake", wake},
  };
  Report report;
  describe_machine(report);
  report.machine("mode", config.quick ? "quick" : "full");
  try {
    for (const auto& [name, run] : groups)
      if (only.empty() || std::find(only.begin(), only.end(), name) != only.end()) run(config, report);
  } catch (const std::exception& e) {
    std::cerr << "shmd_bench: " << e.what() << '\n';
    return 1;
  }
  std::cout << report.json();
  return 0;
}
