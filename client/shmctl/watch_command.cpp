#include <chrono>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "command_error.hpp"
#include "element_access.hpp"
#include "shm/format.hpp"

namespace shmctl {
namespace {

/// `watch NAME [--json] [--count N] [--timeout S]`: prints a segment's contents now and each time
/// it changes, sleeping on its change word in between (no polling, no lock, read-only).
class WatchCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit WatchCommand(CLI::App& app)
      : Command(app.add_subcommand("watch", "Print a segment's value now and each time it changes")) {
    sub().footer(
        "Prints one line as get does (or JSON with --json) now, then one more each time the segment\n"
        "changes: a store to a Value, an atomic update, the release of its lock, a notify(). It sleeps\n"
        "in the kernel until then, without polling. Changes that come faster than it prints show as one\n"
        "line. It attaches read-only (the r bit is enough). Exits 0 after --count changes, 1 when\n"
        "--timeout seconds pass without a change or the segment is removed, 2 and 3 as usual.");
    sub().add_option("name", name_, "Segment name")->required();
    sub().add_flag("--json", json_, "Print JSON");
    sub().add_option("--count,-n", count_, "Exit 0 after this many changes (0: never)")->capture_default_str();
    sub()
        .add_option("--timeout,-t", timeout_s_, "Exit 1 after this many seconds without a change (0: never)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
  }

  /// Attaches read-only, then prints and waits until --count changes, the timeout, or a removal.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    shm::Segment segment = ctx.client().attach(name_, shm::AccessMode::read_only, ec);
    if (ec) throw ctx.failure(ec, "watch " + name_);
    const auto timeout = timeout_s_ == 0
                             ? std::chrono::nanoseconds::max()
                             : std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(timeout_s_ * 1e9)));
    // The count is taken before each copy: a change made while printing shows up as the next line.
    std::uint32_t seen = segment.changes(ec);
    if (ec) throw ctx.failure(ec, "watch " + name_);
    print(ctx, segment);
    for (std::uint64_t changes = 0; count_ == 0 || changes < count_; ++changes) {
      const shm::WaitResult r = segment.wait(seen, timeout, ec);
      if (ec) throw ctx.failure(ec, "watch " + name_);
      if (r.status == shm::WaitStatus::removed)
        throw CommandError(ExitCode::failed, "watch " + name_ + ": the segment was removed");
      if (r.status == shm::WaitStatus::timed_out)
        throw CommandError(ExitCode::failed, "watch " + name_ + ": no change in " + format_seconds() + " s");
      seen = r.changes;
      print(ctx, segment);
    }
    return ExitCode::ok;
  }

 private:
  void print(Context& ctx, const shm::Segment& segment) const {
    const std::vector<std::byte> data = read_elements(segment);
    const char tc = segment.typecode();
    const bool value = segment.info().kind == shm::Kind::value;
    if (json_)
      ctx.out() << (value ? shm::format_json_element(tc, data) : shm::format_json_list(tc, data));
    else
      ctx.out() << (value ? shm::format_element(tc, data) : shm::format_list(tc, data));
    ctx.out() << std::endl;  // flushed: whoever reads the pipe sees each change as it comes
  }
  [[nodiscard]] std::string format_seconds() const {
    std::string s = std::to_string(timeout_s_);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  std::string name_;         ///< the segment's name
  bool json_ = false;        ///< --json
  std::uint64_t count_ = 0;  ///< --count: changes to print before exiting 0 (0: no limit)
  double timeout_s_ = 0;     ///< --timeout: seconds without a change before exiting 1 (0: none)
};

}  // namespace

std::unique_ptr<Command> make_watch_command(CLI::App& app) { return std::make_unique<WatchCommand>(app); }

}  // namespace shmctl
