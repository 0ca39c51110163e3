#include "shm/error.hpp"

#include <cerrno>
#include <cstring>

namespace shm {
namespace {

class ShmCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "shm"; }

  [[nodiscard]] std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_argument: return "invalid argument";
      case Errc::not_found: return "no such segment";
      case Errc::already_exists: return "segment already exists";
      case Errc::permission_denied: return "permission denied";
      case Errc::limit_exceeded: return "limit exceeded";
      case Errc::protocol_error: return "protocol error";
      case Errc::version_mismatch: return "protocol version mismatch";
      case Errc::type_mismatch: return "type mismatch";
      case Errc::not_attached: return "segment not attached";
      case Errc::internal: return "internal daemon error";
      case Errc::daemon_unavailable: return "daemon unavailable";
      case Errc::connection_lost: return "connection to daemon lost";
      case Errc::corrupt_segment: return "segment header is corrupt";
      case Errc::lock_unrecoverable: return "segment lock is unrecoverable";
      case Errc::system_error: return "system error";
    }
    return "unknown shm error " + std::to_string(code);
  }

  [[nodiscard]] std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_argument: return std::errc::invalid_argument;
      case Errc::not_found: return std::errc::no_such_file_or_directory;
      case Errc::already_exists: return std::errc::file_exists;
      case Errc::permission_denied: return std::errc::permission_denied;
      default: return {code, *this};
    }
  }
};

}  // namespace

const std::error_category& shm_category() noexcept {
  static const ShmCategory category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), shm_category()}; }

Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case EINVAL:
    case ERANGE:
    case ENAMETOOLONG: return Errc::invalid_argument;
    case ENOENT: return Errc::not_found;
    case EEXIST: return Errc::already_exists;
    case EACCES:
    case EPERM: return Errc::permission_denied;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case EFBIG: return Errc::limit_exceeded;
    case ECONNREFUSED:
    case ENOTSOCK:
    case ENOTDIR: return Errc::daemon_unavailable;
    case EPIPE:
    case ECONNRESET: return Errc::connection_lost;
    case ENOTRECOVERABLE: return Errc::lock_unrecoverable;
    default: return Errc::system_error;
  }
}

}  // namespace shm
