#pragma once
/// Where shmd listens unless told otherwise: the same answer for the daemon and every client.

#include <string>

namespace shm {

/// The socket path when neither an option nor $SHMD_SOCKET names one.
inline constexpr const char* kDefaultSocketPath = "/run/shmd/shmd.sock";

/// The socket shmd listens on by default: $SHMD_SOCKET if set and not empty, else kDefaultSocketPath.
std::string default_socket_path();

}  // namespace shm
