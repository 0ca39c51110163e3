#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "command.hpp"
#include "segment_text.hpp"
#include "shm/octal_mode.hpp"
#include "table_printer.hpp"

namespace shmctl {
namespace {

/// `list [--json]`: every live segment, as an ipcs-style table or a JSON array.
class ListCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit ListCommand(CLI::App& app) : Command(app.add_subcommand("list", "List every segment, like ipcs")) {
    sub().footer(
        "Columns: NAME; TYPE is the typecode for a Value (d) or typecode[length] for an Array (i[10]);\n"
        "LENGTH elements; BYTES of data; REFS, the references held by connections; OWNER, the creator's\n"
        "user; MODE in octal; STATE live or removed, with ,ephemeral for ephemeral segments.\n"
        "--json prints an array of objects, one per segment, with the fields of `info --json`.");
    sub().add_flag("--json", json_, "Print a JSON array instead of a table");
  }

  /// Fetches the whole list and prints it.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    const std::vector<shm::SegmentInfo> segments = ctx.client().list(ec);
    if (ec) throw ctx.failure(ec, "list");
    if (json_)
      print_json(ctx.out(), segments);
    else
      print_table(ctx.out(), segments);
    return ExitCode::ok;
  }

 private:
  /// One object per line, so the output is still greppable.
  static void print_json(std::ostream& out, const std::vector<shm::SegmentInfo>& segments) {
    if (segments.empty()) {
      out << "[]\n";
      return;
    }
    out << "[\n";
    for (std::size_t i = 0; i < segments.size(); ++i)
      out << "  " << segment_json(segments[i]) << (i + 1 < segments.size() ? ",\n" : "\n");
    out << "]\n";
  }

  /// The ipcs-style table; an empty registry prints just the headings.
  static void print_table(std::ostream& out, const std::vector<shm::SegmentInfo>& segments) {
    TablePrinter table({"NAME", "TYPE", "LENGTH", "BYTES", "REFS", "OWNER", "MODE", "STATE"});
    // A passwd lookup may read a file or ask a directory service; with thousands of segments
    // owned by a handful of users, ask once per user.
    std::map<std::uint32_t, std::string> owners;
    for (const auto& s : segments) {
      auto owner = owners.find(s.uid);
      if (owner == owners.end()) owner = owners.emplace(s.uid, user_name(s.uid)).first;
      table.add_row({s.name, type_label(s), std::to_string(s.length), std::to_string(s.size_bytes),
                     std::to_string(s.refcount), owner->second, shm::octal_mode(s.mode), state_label(s)});
    }
    table.print(out);
  }

  bool json_ = false;  ///< --json
};

}  // namespace

std::unique_ptr<Command> make_list_command(CLI::App& app) { return std::make_unique<ListCommand>(app); }

}  // namespace shmctl
