#include <ostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "element_access.hpp"
#include "shm/format.hpp"

namespace shmctl {
namespace {

/// `get NAME [--json] [--lock]`: prints a segment's contents as Python would, or as JSON.
class GetCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit GetCommand(CLI::App& app)
      : Command(app.add_subcommand("get", "Print a segment's value (Value) or elements (Array)")) {
    sub().footer(
        "Prints like Python: 2.678 for a Value, [0, 1, 4] for an Array, b'x' for a c element.\n"
        "--json prints a number for a Value and an array for an Array (one-character strings for c;\n"
        "null for inf and nan). Reading attaches read-only (the r bit is enough) until shmctl exits,\n"
        "and loads each element atomically without the segment's lock, which a reader cannot take: an\n"
        "Array that others update meanwhile may show some elements before an update and some after.\n"
        "--lock attaches read-write instead (that needs the r and w bits) and copies under the lock.");
    sub().add_option("name", name_, "Segment name")->required();
    sub().add_flag("--json", json_, "Print JSON");
    sub().add_flag("--lock", lock_, "Copy the elements under the segment's lock (needs write access)");
  }

  /// Attaches (read-only unless --lock), copies the elements out, and prints them.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    shm::Segment segment =
        ctx.client().attach(name_, lock_ ? shm::AccessMode::read_write : shm::AccessMode::read_only, ec);
    if (ec) throw ctx.failure(ec, "get " + name_);
    std::vector<std::byte> data;
    if (lock_) {
      const shm::LockGuard guard = segment.lock();
      if (guard.owner_died())
        ctx.report("warning: a process died holding " + name_ + "'s lock; its contents may be half-updated");
      data = read_elements(segment);
    } else {
      data = read_elements(segment);
    }
    const char tc = segment.typecode();
    const bool value = segment.info().kind == shm::Kind::value;
    segment.detach(ec);  // waited for: the count is right as soon as shmctl returns
    if (ec) throw ctx.failure(ec, "get " + name_);
    if (json_)
      ctx.out() << (value ? shm::format_json_element(tc, data) : shm::format_json_list(tc, data)) << '\n';
    else
      ctx.out() << (value ? shm::format_element(tc, data) : shm::format_list(tc, data)) << '\n';
    return ExitCode::ok;
  }

 private:
  std::string name_;   ///< the segment's name
  bool json_ = false;  ///< --json
  bool lock_ = false;  ///< --lock
};

}  // namespace

std::unique_ptr<Command> make_get_command(CLI::App& app) { return std::make_unique<GetCommand>(app); }

}  // namespace shmctl
