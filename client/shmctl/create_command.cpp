#include <optional>
#include <string>

#include "argument_parsing.hpp"
#include "command.hpp"
#include "command_error.hpp"
#include "shm/format.hpp"
#include "unsigned_validator.hpp"

namespace shmctl {
namespace {

/// `create NAME --type T [--length N] [--value V | --init V1,V2,...] [--mode M] [--ephemeral]`.
class CreateCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit CreateCommand(CLI::App& app)
      : Command(app.add_subcommand("create", "Create a named Value (one element) or Array")) {
    sub().footer(
        "Without --length and --init the segment is a Value (one element); --length or --init makes it an\n"
        "Array (--init gives the length; with both they must agree). --value sets a Value's initial value,\n"
        "or every element of an Array. Without either the memory starts zeroed.\n"
        "Note: an --ephemeral segment is removed when its last reference goes. shmctl's own reference goes\n"
        "when shmctl exits, so an ephemeral segment that nobody else has attached by then vanishes at once.");
    sub().add_option("name", name_, "Segment name: 1-255 characters of A-Z a-z 0-9 . _ -")->required();
    sub()
        .add_option("--type,-t", type_, "Typecode: c b B u h H i I l L q Q f d (as Python's array module)")
        ->required();
    sub().add_option("--length,-n", length_, "Make an Array of this many elements")->check(no_minus_sign());
    auto* value = sub().add_option("--value", value_, "Initial value (of every element, for an Array)");
    auto* init =
        sub().add_option("--init", init_, "Initial Array contents, comma-separated: 1,2,3 (for c, \\x2c is a comma)");
    value->excludes(init);
    sub().add_option("--mode,-m", mode_, "Permission bits in octal, at most 0777")->capture_default_str();
    sub().add_flag("--ephemeral", ephemeral_, "Remove the segment when its last reference goes (see below)");
  }

  /// Validates everything locally, then creates the segment.
  ExitCode run(Context& ctx) override {
    const char typecode = parse_typecode(type_);
    shm::SegmentSpec spec;
    spec.typecode = typecode;
    spec.options.mode = parse_mode(mode_);
    spec.options.ephemeral = ephemeral_;

    std::optional<std::vector<std::string>> init_items;
    if (init_) init_items = split_commas(*init_);
    if (length_ && *length_ == 0) throw CommandError::usage("--length must be at least 1");
    if (length_ && init_items && *length_ != init_items->size())
      throw CommandError::usage("--length " + std::to_string(*length_) + " disagrees with the " +
                                std::to_string(init_items->size()) + " values of --init");
    spec.kind = (length_ || init_items) ? shm::Kind::array : shm::Kind::value;
    spec.length = init_items ? init_items->size() : length_.value_or(1);

    std::vector<std::byte> initial;
    if (init_items) {
      initial = parse_elements(typecode, *init_items);
    } else if (value_) {
      const std::vector<std::byte> one = parse_elements(typecode, {*value_});
      const std::size_t max_elements = SIZE_MAX / one.size();
      if (spec.length > max_elements)
        throw CommandError::usage("--length " + std::to_string(spec.length) + " is too large");
      initial.reserve(static_cast<std::size_t>(spec.length) * one.size());
      for (std::uint64_t i = 0; i < spec.length; ++i) initial.insert(initial.end(), one.begin(), one.end());
    }
    spec.initial = initial;

    std::error_code ec;
    if (spec.options.ephemeral) {
      // Ephemeral: made, then dropped (and waited for) when shmctl is done with it, which ends it.
      shm::Segment segment = ctx.client().create(name_, spec, ec);
      if (!ec) segment.detach(ec);
    } else {
      (void)ctx.client().create_detached(name_, spec, ec);  // nothing to map: no reference, no fd
    }
    if (ec) throw ctx.failure(ec, "create " + name_);
    return ExitCode::ok;
  }

 private:
  std::string name_;                     ///< the segment's name
  std::string type_;                     ///< --type, checked in run()
  std::optional<std::uint64_t> length_;  ///< --length
  std::optional<std::string> value_;     ///< --value
  std::optional<std::string> init_;      ///< --init, unsplit
  std::string mode_ = "0600";            ///< --mode, octal text
  bool ephemeral_ = false;               ///< --ephemeral
};

}  // namespace

std::unique_ptr<Command> make_create_command(CLI::App& app) { return std::make_unique<CreateCommand>(app); }

}  // namespace shmctl
