#include <optional>
#include <string>

#include "argument_parsing.hpp"
#include "command.hpp"
#include "command_error.hpp"
#include "element_access.hpp"
#include "shm/format.hpp"
#include "unsigned_validator.hpp"

namespace shmctl {
namespace {

/// `set NAME [--index I] V...`: writes a Value, a whole Array, or one Array element.
class SetCommand final : public Command {
 public:
  /// Declares the subcommand and its options on `app`.
  explicit SetCommand(CLI::App& app) : Command(app.add_subcommand("set", "Write a Value, an Array, or one element")) {
    sub().footer(
        "A Value takes exactly one value. An Array takes exactly `length` values (all elements), or\n"
        "--index I and one value. Values are checked against the type's range before anything is\n"
        "written; the write happens under the segment's lock. A c value is one character, an escape\n"
        "such as \\x41, or b'x' as `get` prints it. Put -- before values that start with '-'.");
    sub().add_option("name", name_, "Segment name")->required();
    sub().add_option("values", values_, "The new value(s)")->required();
    sub().add_option("--index,-i", index_, "Write only element I of an Array (0-based)")->check(no_minus_sign());
  }

  /// Attaches, checks the count and every value, then writes under the lock.
  ExitCode run(Context& ctx) override {
    std::error_code ec;
    shm::Segment segment = ctx.client().attach(name_, ec);
    if (ec) throw ctx.failure(ec, "set " + name_);

    const std::size_t length = segment.length();
    const bool is_value = segment.info().kind == shm::Kind::value;
    std::size_t first = 0;
    if (index_) {
      if (is_value)
        throw CommandError::usage("set " + name_ + ": --index applies to Arrays, and " + name_ + " is a Value");
      if (*index_ >= length)
        throw CommandError::usage("set " + name_ + ": --index " + std::to_string(*index_) +
                                  " is past the end (length " + std::to_string(length) + ")");
      if (values_.size() != 1)
        throw CommandError::usage("set " + name_ + ": --index takes exactly one value, got " +
                                  std::to_string(values_.size()));
      first = static_cast<std::size_t>(*index_);
    } else if (values_.size() != length) {
      throw CommandError::usage("set " + name_ + ": " +
                                (is_value ? "a Value takes exactly 1 value"
                                          : "an Array of length " + std::to_string(length) + " takes exactly " +
                                                std::to_string(length) + " values (or --index I and one value)") +
                                ", got " + std::to_string(values_.size()));
    }

    const std::vector<std::byte> data = parse_elements(segment.typecode(), values_);
    bool owner_died = false;
    write_elements(segment, first, data, owner_died);
    if (owner_died)
      ctx.report("warning: a process died holding " + name_ + "'s lock; other elements may be half-updated");
    segment.detach(ec);  // waited for: the count is right as soon as shmctl returns
    if (ec) throw ctx.failure(ec, "set " + name_);
    return ExitCode::ok;
  }

 private:
  std::string name_;                    ///< the segment's name
  std::vector<std::string> values_;     ///< the value texts
  std::optional<std::uint64_t> index_;  ///< --index
};

}  // namespace

std::unique_ptr<Command> make_set_command(CLI::App& app) { return std::make_unique<SetCommand>(app); }

}  // namespace shmctl
