#pragma once
/// Binding the daemon's Unix socket, replacing a stale socket file only when nobody answers on it.

#include <cstdint>
#include <string>

#include "shm/result.hpp"
#include "shm/unique_fd.hpp"

namespace shmd {

/// Creates the parent directory if missing, checks for a live daemon on `path`, removes a stale
/// socket file, binds, chmods to `mode` and listens. Refuses to touch a path that is not a socket.
shm::Result<shm::UniqueFd> bind_listening_socket(const std::string& path, std::uint32_t mode);

}  // namespace shmd
