#pragma once
/// shm error codes: one `enum class` for every component, one category, errno mapped in one place.

#include <stdexcept>
#include <string>
#include <system_error>

namespace shm {

/// Why an shm operation failed. Values are stable; 0 is success.
enum class Errc {
  invalid_argument = 1,     ///< a name, typecode, length or value is malformed or out of range
  not_found = 2,            ///< no segment has that name
  already_exists = 3,       ///< the name is taken
  permission_denied = 4,    ///< uid/gid/mode forbid it
  limit_exceeded = 5,       ///< a daemon limit or quota would be exceeded
  protocol_error = 6,       ///< the peer sent something that is not valid shmd protocol
  version_mismatch = 7,     ///< client and daemon speak different protocol versions
  type_mismatch = 8,        ///< the segment's typecode, kind or length is not what was asked for
  not_attached = 9,         ///< the connection holds no reference to that segment
  internal = 10,            ///< the daemon failed; the request had no effect
  daemon_unavailable = 11,  ///< the daemon's socket cannot be reached
  connection_lost = 12,     ///< the daemon closed the connection mid-request
  corrupt_segment = 13,     ///< the segment header disagrees with what the daemon said
  lock_unrecoverable = 14,  ///< the segment's mutex was left inconsistent and cannot be used
  system_error = 15,        ///< a system call failed for another reason (see the message)
};

/// The `shm` error category.
const std::error_category& shm_category() noexcept;

/// Makes `Errc` usable as a `std::error_code`.
std::error_code make_error_code(Errc e) noexcept;

/// Maps an errno value to the closest `Errc` (the one place this happens).
Errc errc_from_errno(int err) noexcept;

/// The exception thrown by the throwing overloads of the client API.
class Error : public std::system_error {
 public:
  /// Builds an error with its code and a message that says what failed.
  Error(std::error_code code, const std::string& what) : std::system_error(code, what) {}
};

}  // namespace shm

template <>
struct std::is_error_code_enum<shm::Errc> : std::true_type {};
