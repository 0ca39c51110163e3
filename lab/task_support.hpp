#pragma once
/// What every lab task shares: its options, the daemon connection and its shared segments.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "lab_error.hpp"
#include "shm/shm.hpp"
#include "target.hpp"

namespace shm::lab {

/// The options every task takes.
struct TaskOptions {
  std::string socket;  ///< shmd's socket path
  std::string name;    ///< --name: a persistent segment to use; empty for a private ephemeral one
};

/// Connects to shmd at `socket`; throws LabError naming the socket (kExitUnreachable) if no
/// daemon answers there.
shm::Client connect(const std::string& socket);

/// The segment a task uses: --name, else `lab.<task>.<pid>`, unique to this run.
std::string segment_name(const TaskOptions& options, std::string_view task);

/// How a task creates its segment: with --name persistent and opened if it exists already,
/// otherwise ephemeral, so the daemon removes it when the last process lets go.
shm::CreateOptions create_options(const TaskOptions& options);

/// Takes `segment`'s lock; if its previous holder died holding it, says so on stderr as `who`.
shm::LockGuard lock_reporting(shm::Segment& segment, std::string_view who);

/// Throws a LabError for a failed `what` ("create", "attach") on segment `name`.
[[noreturn]] void throw_segment_error(std::string_view what, std::string_view name, std::error_code ec);

/// Parses `text` as a whole non-negative number (a target argument); throws LabError otherwise.
std::size_t parse_count(std::string_view text);

/// The parent's `multiprocessing.Value(typecode, initial)`: creates the task's Value.
template <shm::Element T>
shm::Value<T> make_value(shm::Client& client, const TaskOptions& options, std::string_view task, T initial) {
  const std::string name = segment_name(options, task);
  std::error_code ec;
  auto v = client.create_value<T>(name, initial, create_options(options), ec);
  if (ec) throw_segment_error("create", name, ec);
  if (!options.name.empty()) {
    // An existing named segment still holds the last run's result; start from the initial value
    // as Python's Value() would.
    auto guard = lock_reporting(v.segment(), "parent");
    v.get() = initial;
  }
  return v;
}

/// The parent's `multiprocessing.Array(typecode, initial)`: creates the task's Array.
template <shm::Element T>
shm::Array<T> make_array(shm::Client& client, const TaskOptions& options, std::string_view task,
                         std::span<const T> initial) {
  const std::string name = segment_name(options, task);
  std::error_code ec;
  auto a = client.create_array<T>(name, initial, create_options(options), ec);
  if (ec) throw_segment_error("create", name, ec);
  if (!options.name.empty()) {
    // As in make_value: an existing named segment must start from `initial`, not the last run.
    auto guard = lock_reporting(a.segment(), "parent");
    std::ranges::copy(initial, a.begin());
  }
  return a;
}

/// A child's attach by name to the Value its parent created.
template <shm::Element T>
shm::Value<T> attach_value(shm::Client& client, const SegmentRef& segment) {
  std::error_code ec;
  auto v = client.attach_value<T>(segment.name, ec);
  if (ec) throw_segment_error("attach to", segment.name, ec);
  return v;
}

/// A child's attach by name to the Array its parent created.
template <shm::Element T>
shm::Array<T> attach_array(shm::Client& client, const SegmentRef& segment) {
  std::error_code ec;
  auto a = client.attach_array<T>(segment.name, ec);
  if (ec) throw_segment_error("attach to", segment.name, ec);
  return a;
}

}  // namespace shm::lab
