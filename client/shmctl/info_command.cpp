#include <ostream>
#include <string>

#include "command.hpp"
#include "segment_text.hpp"
#include "shm/octal_mode.hpp"
#include "table_printer.hpp"

namespace shmctl {
namespace {

/// `info NAME [--json]`: one segment's metadata.
class InfoCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit InfoCommand(CLI::App& app) : Command(app.add_subcommand("info", "Show one segment's metadata")) {
    sub().footer(
        "--json prints one object with name, id, kind (value or array), typecode, length, element_size,\n"
        "size_bytes, refcount, holds, uid, gid, mode (octal string such as \"0600\"), ephemeral, removed,\n"
        "creator_pid and created (ISO-8601 UTC).");
    sub().add_option("name", name_, "Segment name")->required();
    sub().add_flag("--json", json_, "Print a JSON object");
  }

  /// Prints the metadata as aligned "key: value" lines or JSON.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    const shm::SegmentInfo s = ctx.client().info(name_, ec);
    if (ec) throw ctx.failure(ec, "info " + name_);
    if (json_) {
      ctx.out() << segment_json(s) << '\n';
      return ExitCode::ok;
    }
    const auto type = shm::type_info(s.typecode);
    TablePrinter table({"name:", s.name});
    table.add_row({"id:", std::to_string(s.id)});
    table.add_row({"kind:", std::string(shm::kind_name(s.kind))});
    table.add_row({"type:", std::string(1, s.typecode) + (type ? " (" + std::string(type->c_name) + ")" : "")});
    table.add_row({"length:", std::to_string(s.length)});
    table.add_row({"element size:", std::to_string(s.element_size)});
    table.add_row({"bytes:", std::to_string(s.size_bytes)});
    table.add_row({"refcount:", std::to_string(s.refcount)});
    table.add_row({"holds:", std::to_string(s.holds)});
    table.add_row({"owner:", user_name(s.uid) + " (uid " + std::to_string(s.uid) + ")"});
    table.add_row({"group:", group_name(s.gid) + " (gid " + std::to_string(s.gid) + ")"});
    table.add_row({"mode:", shm::octal_mode(s.mode)});
    table.add_row({"state:", state_label(s)});
    table.add_row({"creator pid:", std::to_string(s.creator_pid)});
    table.add_row({"created:", iso8601_utc(s.created)});
    table.print(ctx.out());
    return ExitCode::ok;
  }

 private:
  std::string name_;   ///< the segment's name
  bool json_ = false;  ///< --json
};

}  // namespace

std::unique_ptr<Command> make_info_command(CLI::App& app) { return std::make_unique<InfoCommand>(app); }

}  // namespace shmctl
