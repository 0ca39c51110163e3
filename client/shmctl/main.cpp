// shmctl: the command-line face of shmd, built only on libshmclient's public API.

#include <iostream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "command_error.hpp"
#include "context.hpp"
#include "exit_code.hpp"
#include "shm/shm.hpp"

namespace {

/// Runs shmctl; the return value is the exit status.
int run(int argc, char** argv) {
  CLI::App app{"shmctl: create, inspect, read, write and remove shmd shared-memory segments", "shmctl"};
  app.set_version_flag("--version", std::string("shmctl ") + SHMCTL_VERSION);
  app.footer("Exit status: 0 success, 1 the operation failed, 2 usage error, 3 the daemon cannot be reached.");
  std::string socket_path = shm::default_socket_path();
  app.add_option("--socket,-s", socket_path, "shmd's socket ($SHMD_SOCKET, else /run/shmd/shmd.sock)")
      ->capture_default_str();
  app.require_subcommand(1);
  // Set before the subcommands exist so they inherit it: `shmctl list --socket X` works too.
  app.fallthrough();
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "shmctl: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });

  std::vector<std::unique_ptr<shmctl::Command>> commands;
  commands.push_back(shmctl::make_create_command(app));
  commands.push_back(shmctl::make_list_command(app));
  commands.push_back(shmctl::make_info_command(app));
  commands.push_back(shmctl::make_get_command(app));
  commands.push_back(shmctl::make_set_command(app));
  commands.push_back(shmctl::make_remove_command(app));
  commands.push_back(shmctl::make_chmod_command(app));
  commands.push_back(shmctl::make_watch_command(app));
  commands.push_back(shmctl::make_events_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here as "errors" with status 0.
    return app.exit(e) == 0 ? 0 : static_cast<int>(shmctl::ExitCode::usage);
  }

  shmctl::Context ctx(socket_path, std::cout, std::cerr);
  try {
    for (const auto& command : commands)
      if (command->chosen()) return static_cast<int>(command->run(ctx));
    return static_cast<int>(shmctl::ExitCode::usage);  // require_subcommand(1) makes this unreachable
  } catch (const shmctl::CommandError& e) {
    ctx.report(e.what());
    return static_cast<int>(e.exit_code());
  } catch (const shm::Error& e) {
    const shmctl::CommandError mapped = ctx.failure(e.code(), e.what());
    ctx.report(mapped.what());
    return static_cast<int>(mapped.exit_code());
  } catch (const std::bad_alloc&) {
    ctx.report("out of memory");
    return static_cast<int>(shmctl::ExitCode::failed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "shmctl: " << e.what() << '\n';
    return static_cast<int>(shmctl::ExitCode::failed);
  }
}
