#include "task_support.hpp"

#include <unistd.h>

#include <charconv>
#include <iostream>

namespace shm::lab {
namespace {

/// The library's explanation of the last error, or the code's generic message if it gave none.
std::string explanation(std::error_code ec) {
  const std::string& detail = shm::last_error_message();
  return detail.empty() ? ec.message() : detail;
}

}  // namespace

shm::Client connect(const std::string& socket) {
  std::error_code ec;
  shm::Client client(socket, ec);
  if (ec == shm::Errc::daemon_unavailable) {
    std::string message = explanation(ec);
    if (message.find(socket) == std::string::npos) message = "cannot reach shmd at " + socket + ": " + message;
    throw LabError(message + "; use --socket PATH or SHMD_SOCKET to reach another daemon", kExitUnreachable);
  }
  if (ec) throw LabError("cannot talk to shmd at " + socket + ": " + explanation(ec));
  return client;
}

std::string segment_name(const TaskOptions& options, std::string_view task) {
  if (!options.name.empty()) return options.name;
  return "lab." + std::string(task) + "." + std::to_string(::getpid());
}

shm::CreateOptions create_options(const TaskOptions& options) {
  const bool named = !options.name.empty();
  return shm::CreateOptions{.ephemeral = !named, .open_existing = named};
}

shm::LockGuard lock_reporting(shm::Segment& segment, std::string_view who) {
  auto guard = segment.lock();
  if (guard.owner_died()) std::cerr << "shm-lab: " << who << ": previous lock holder died; lock recovered\n";
  return guard;
}

void throw_segment_error(std::string_view what, std::string_view name, std::error_code ec) {
  std::string message = "cannot " + std::string(what) + " segment '" + std::string(name) + "': " + explanation(ec);
  if (ec == shm::Errc::type_mismatch)
    message += "; remove it with `shmctl rm " + std::string(name) + "` or pick another --name";
  throw LabError(message, ec == shm::Errc::daemon_unavailable ? kExitUnreachable : kExitFailure);
}

std::size_t parse_count(std::string_view text) {
  std::size_t value = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc{} || end != text.data() + text.size())
    throw LabError("bad target argument '" + std::string(text) + "': not a whole number");
  return value;
}

}  // namespace shm::lab
