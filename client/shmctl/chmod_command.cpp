#include <string>

#include "argument_parsing.hpp"
#include "command.hpp"
#include "segment_text.hpp"
#include "shm/octal_mode.hpp"

namespace shmctl {
namespace {

/// `chmod NAME MODE`: changes a segment's permission bits, like chmod on a file.
class ChmodCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit ChmodCommand(CLI::App& app)
      : Command(app.add_subcommand("chmod", "Change a segment's permission bits (owner or root only)")) {
    sub().footer(
        "MODE is octal (0640 or 640), at most 0777. The r bit allows read-only attach, info and get;\n"
        "r and w together allow read-write attach and set. The new mode applies to later attaches;\n"
        "processes already attached keep the access they were given.");
    sub().add_option("name", name_, "Segment name")->required();
    sub().add_option("mode", mode_, "Permission bits in octal")->required();
  }

  /// Changes the mode and prints the new one.
  ExitCode run(Context& ctx) override {
    const std::uint32_t mode = parse_mode(mode_);
    std::error_code ec;
    const shm::SegmentInfo s = ctx.client().chmod(name_, mode, ec);
    if (ec) throw ctx.failure(ec, "chmod " + name_);
    ctx.out() << s.name << ": mode " << shm::octal_mode(s.mode) << '\n';
    return ExitCode::ok;
  }

 private:
  std::string name_;  ///< the segment's name
  std::string mode_;  ///< octal text
};

}  // namespace

std::unique_ptr<Command> make_chmod_command(CLI::App& app) { return std::make_unique<ChmodCommand>(app); }

}  // namespace shmctl
