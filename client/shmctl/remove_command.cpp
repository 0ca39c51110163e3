#include <string>

#include "command.hpp"
#include "command_error.hpp"

namespace shmctl {
namespace {

/// `rm NAME...`: removes each name; like IPC_RMID, attached processes keep the memory.
class RemoveCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit RemoveCommand(CLI::App& app) : Command(app.add_subcommand("rm", "Remove segments by name")) {
    sub().footer(
        "Each name is taken away at once and may be reused; processes that have the segment attached keep\n"
        "its memory until they detach (like ipcrm). Every failure is reported; the exit status is 1 if any\n"
        "name could not be removed.");
    sub().add_option("names", names_, "Segment names")->required();
  }

  /// Removes every name, reporting each failure on stderr.
  ExitCode run(Context& ctx) override {
    ExitCode result = ExitCode::ok;
    for (const std::string& name : names_) {
      std::error_code ec;
      ctx.client().remove(name, ec);
      if (!ec) continue;
      CommandError e = ctx.failure(ec, "rm " + name);
      // Without a daemon the remaining names cannot fare better.
      if (e.exit_code() == ExitCode::unreachable) throw e;
      ctx.report(e.what());
      result = ExitCode::failed;
    }
    return result;
  }

 private:
  std::vector<std::string> names_;  ///< the names to remove
};

}  // namespace

std::unique_ptr<Command> make_remove_command(CLI::App& app) { return std::make_unique<RemoveCommand>(app); }

}  // namespace shmctl
