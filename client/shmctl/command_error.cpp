#include "command_error.hpp"

#include "shm/shm.hpp"

namespace shmctl {

ExitCode exit_code_for(const std::error_code& ec) noexcept {
  if (ec.category() != shm::shm_category()) return ExitCode::failed;
  switch (static_cast<shm::Errc>(ec.value())) {
    case shm::Errc::daemon_unavailable:
    case shm::Errc::connection_lost: return ExitCode::unreachable;
    // The daemon rejects malformed names and lengths this way: the command line was wrong.
    case shm::Errc::invalid_argument: return ExitCode::usage;
    default: return ExitCode::failed;
  }
}

CommandError failure(const std::error_code& ec, std::string_view what, std::string_view socket_path) {
  const std::string& explanation = shm::last_error_message();
  const ExitCode code = exit_code_for(ec);
  // The message must name the socket; the library's explanation may already do so.
  if (code == ExitCode::unreachable) {
    if (!socket_path.empty() && explanation.find(socket_path) != std::string::npos) return {code, explanation};
    return {code, "cannot reach shmd at " + std::string(socket_path) + ": " + ec.message() +
                      (explanation.empty() ? "" : ": " + explanation)};
  }
  std::string detail = ec.message();
  // The library's explanation often already contains the category's text; say it once.
  if (explanation.find(detail) != std::string::npos)
    detail = explanation;
  else if (!explanation.empty())
    detail += ": " + explanation;
  return {code, std::string(what) + ": " + detail};
}

}  // namespace shmctl
