#pragma once
/// Command: one shmctl subcommand, which declares its own options and runs on its own.

#include <memory>

#include <CLI/CLI.hpp>

#include "context.hpp"
#include "exit_code.hpp"

namespace shmctl {

/// One subcommand. The constructor adds it (and its options) to the CLI; run() does the work
/// once the command line is parsed, throwing CommandError or shm::Error on failure.
class Command {
 public:
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  /// True when the user chose this subcommand.
  [[nodiscard]] bool chosen() const { return sub_->parsed(); }
  /// Does the work; the return value is the exit status.
  virtual ExitCode run(Context& ctx) = 0;

 protected:
  /// Wraps the CLI11 subcommand this command owns.
  explicit Command(CLI::App* sub) noexcept : sub_(sub) {}
  /// The CLI11 subcommand, for declaring options.
  [[nodiscard]] CLI::App& sub() const noexcept { return *sub_; }

 private:
  CLI::App* sub_;  ///< owned by the parent CLI::App
};

/// `create NAME --type T ...`
std::unique_ptr<Command> make_create_command(CLI::App& app);
/// `list [--json]`
std::unique_ptr<Command> make_list_command(CLI::App& app);
/// `info NAME [--json]`
std::unique_ptr<Command> make_info_command(CLI::App& app);
/// `get NAME [--json]`
std::unique_ptr<Command> make_get_command(CLI::App& app);
/// `set NAME [--index I] V...`
std::unique_ptr<Command> make_set_command(CLI::App& app);
/// `rm NAME...`
std::unique_ptr<Command> make_remove_command(CLI::App& app);
/// `chmod NAME MODE`
std::unique_ptr<Command> make_chmod_command(CLI::App& app);
/// `watch NAME [--json] [--count N] [--timeout S]`
std::unique_ptr<Command> make_watch_command(CLI::App& app);
/// `events [--prefix P] [--attachments] [--json] [--count N]`
std::unique_ptr<Command> make_events_command(CLI::App& app);

}  // namespace shmctl
