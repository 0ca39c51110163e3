#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "command.hpp"
#include "json_object.hpp"
#include "segment_text.hpp"
#include "shm/octal_mode.hpp"

namespace shmctl {
namespace {

/// One event as a line of text: the kind, then the segment's name and what changed.
std::string event_text(const shm::Event& e) {
  const std::string kind(shm::event_kind_name(e.kind));
  if (e.kind == shm::EventKind::overflow) return kind + " missed=" + std::to_string(e.missed);
  const shm::SegmentInfo& s = e.segment;
  return kind + " " + s.name + " id=" + std::to_string(s.id) + " type=" + type_label(s) +
         " refcount=" + std::to_string(s.refcount) + " mode=" + shm::octal_mode(s.mode) + " owner=" + user_name(s.uid);
}

/// One event as a JSON object: {"event": KIND, "segment": {...}} or {"event": "overflow", "missed": N}.
std::string event_json(const shm::Event& e) {
  JsonObject o;
  o.string("event", shm::event_kind_name(e.kind));
  if (e.kind == shm::EventKind::overflow)
    o.number("missed", e.missed);
  else
    o.raw("segment", segment_json(e.segment));
  return o.str();
}

/// `events [--prefix P] [--attachments] [--json] [--count N]`: the registry's events as they come.
class EventsCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit EventsCommand(CLI::App& app)
      : Command(app.add_subcommand("events", "Print segment events (created, removed, ...) as they happen")) {
    sub().footer(
        "One line per event: KIND NAME id=ID type=TYPE refcount=N mode=MODE owner=USER, where KIND is\n"
        "created, removed, freed, mode_changed, attached or detached (--attachments), or\n"
        "\"overflow missed=N\" when shmctl fell behind and shmd dropped N events (list again).\n"
        "--json prints one object per line instead: {\"event\": KIND, \"segment\": {as info --json}}, or\n"
        "{\"event\": \"overflow\", \"missed\": N}. Only segments this user may read are shown. Nothing\n"
        "from before shmctl subscribed is printed. Runs until interrupted, or until --count lines;\n"
        "exits 3 when shmd stops or restarts (the events do not survive it).");
    sub().add_option("--prefix,-p", prefix_, "Only segments whose names start with this");
    sub().add_flag("--attachments,-a", attachments_, "Also print attached/detached (every reference change)");
    sub().add_flag("--json", json_, "Print one JSON object per event");
    sub().add_option("--count,-n", count_, "Exit 0 after this many events (0: never)")->capture_default_str();
  }

  /// Subscribes on a connection of its own and prints each event, flushed, as it arrives.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    shm::Subscription sub =
        ctx.client().subscribe(shm::SubscribeOptions{.prefix = prefix_, .attachments = attachments_}, ec);
    if (ec) throw ctx.failure(ec, prefix_.empty() ? "events" : "events --prefix " + prefix_);
    for (std::uint64_t printed = 0; count_ == 0 || printed < count_;) {
      const auto event = sub.next(std::chrono::hours(24 * 365 * 100), ec);
      if (ec) throw ctx.failure(ec, "events");
      if (!event) continue;
      ctx.out() << (json_ ? event_json(*event) : event_text(*event)) << std::endl;  // a pipe's reader sees it now
      ++printed;
    }
    return ExitCode::ok;
  }

 private:
  std::string prefix_;        ///< --prefix
  bool attachments_ = false;  ///< --attachments
  bool json_ = false;         ///< --json
  std::uint64_t count_ = 0;   ///< --count
};

}  // namespace

std::unique_ptr<Command> make_events_command(CLI::App& app) { return std::make_unique<EventsCommand>(app); }

}  // namespace shmctl
