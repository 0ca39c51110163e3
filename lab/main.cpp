// shm-lab: the lab sheet's examples and exercises as shmd client programs.
//
// Exit status: 0 success; 1 a task failed (wrong value, a child failed, a daemon error);
// 2 usage error; 3 shmd cannot be reached.
#include <CLI/CLI.hpp>

#include <array>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lab_error.hpp"
#include "process.hpp"
#include "shm/names.hpp"
#include "shm/shm.hpp"
#include "tasks.hpp"

namespace {

using namespace shm::lab;

/// The target called `name`, or nullptr.
const Target* find_target(std::string_view name) {
  const std::array tables{example1_targets(), example2_targets(), exercise1_targets(), exercise2_targets()};
  for (const auto& table : tables)
    for (const auto& target : table)
      if (target.name == name) return &target;
  return nullptr;
}

/// Runs `f`, turning every exception into `shm-lab: [who: ]message` and an exit status.
template <class F>
int report_errors(std::string_view who, F&& f) {
  const std::string prefix = "shm-lab: " + (who.empty() ? std::string() : std::string(who) + ": ");
  try {
    return f();
  } catch (const LabError& e) {
    std::cerr << prefix << e.what() << '\n';
    return e.exit_code();
  } catch (const shm::Error& e) {
    std::cerr << prefix << e.what() << '\n';
    return e.code() == shm::Errc::daemon_unavailable ? kExitUnreachable : kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << prefix << e.what() << '\n';
    return kExitFailure;
  }
}

/// A spawned child: `shm-lab __child TARGET PROCESS SOCKET SEGMENT [ARG...]` (see Process::start).
int run_child(std::span<char*> argv) {
  if (argv.size() < 6) {
    std::cerr << "shm-lab: " << kChildCommand << " is for shm-lab's own child processes\n";
    return kExitUsage;
  }
  const Target* target = find_target(argv[2]);
  if (target == nullptr) {
    std::cerr << "shm-lab: no child target named '" << argv[2] << "'\n";
    return kExitUsage;
  }
  const ChildArgs args{argv[3], {argv[4], argv[5]}, {argv.begin() + 6, argv.end()}};
  return report_errors(args.process, [&] { return target->run(args); });
}

/// Adds the options every task has to `command`.
void add_task_options(CLI::App& command, TaskOptions& options) {
  options.socket = shm::default_socket_path();
  command.add_option("--socket", options.socket, "shmd's socket (default: $SHMD_SOCKET, else /run/shmd/shmd.sock)")
      ->capture_default_str();
  command
      .add_option("--name", options.name,
                  "use this persistent segment (created if absent) instead of a private one, "
                  "so `shmctl get NAME` can watch it")
      ->check([](const std::string& name) {
        // CLI11's validators answer an empty string for a valid argument.
        const auto named = shm::check_segment_name(name);
        return named ? std::string() : named.failure().message;
      });
}

}  // namespace

// A function-try-block: a failure while setting up the command line ends with a line saying why.
int main(int argc, char** argv) try {
  const std::span<char*> args(argv, static_cast<std::size_t>(argc));
  if (args.size() > 1 && std::string_view(args[1]) == kChildCommand) return run_child(args);

  CLI::App app{
      "The shared-memory lab sheet's examples and exercises, as processes sharing shmd segments.\n"
      "Each child is a fresh process that attaches to the segment by name.",
      "shm-lab"};
  app.set_version_flag("--version", SHMD_VERSION);
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 a task failed, 2 usage error, 3 shmd unreachable.");

  TaskOptions example1_options;
  auto* example1_cmd = app.add_subcommand("example1", "a child stores 2.678 in a shared Value 'd'; prints 2.678");
  add_task_options(*example1_cmd, example1_options);

  TaskOptions example2_options;
  auto* example2_cmd = app.add_subcommand("example2", "a child squares a shared Array 'i' of range(10) in place");
  add_task_options(*example2_cmd, example2_options);

  Exercise1Options exercise1_options;
  auto* exercise1_cmd =
      app.add_subcommand("exercise1",
                         "five workers, each with its own function, add 1, 10, 100, 1000 and 10000 to a shared Value "
                         "under its lock, N times each; prints the total (11111 * N)");
  add_task_options(*exercise1_cmd, exercise1_options.task);
  exercise1_cmd->add_option("--iterations", exercise1_options.iterations, "updates per worker")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, exercise1_max_iterations()));
  exercise1_cmd
      ->add_option(
          "--crash-worker", exercise1_options.crash_worker,
          "kill worker K (1-5) with SIGKILL halfway, while it holds the lock: the others recover the "
          "lock and finish; exit status 0 if the total is then what the survivors and K's first half add up to")
      ->check(CLI::Range(1, 5));

  Exercise2Options exercise2_options;
  auto* exercise2_cmd =
      app.add_subcommand("exercise2",
                         "process 1 squares the first half of random numbers in [0, 10], process 2 the second half, "
                         "in a shared Array 'i'; prints the numbers, then the squares");
  add_task_options(*exercise2_cmd, exercise2_options.task);
  exercise2_cmd->add_option("--seed", exercise2_options.seed, "seed for the numbers (default: random, and printed)");
  exercise2_cmd->add_option("--count", exercise2_options.count, "how many numbers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes differ per error kind; shm-lab promises 2 for every usage error.
    std::cerr << "shm-lab: " << e.what() << "\nRun with --help for more information.\n";
    return kExitUsage;
  }

  return report_errors("", [&] {
    if (*example1_cmd) return example1(example1_options);
    if (*example2_cmd) return example2(example2_options);
    if (*exercise1_cmd) return exercise1(exercise1_options);
    return exercise2(exercise2_options);
  });
} catch (const std::exception& e) {
  std::cerr << "shm-lab: " << e.what() << '\n';
  return kExitFailure;
}
