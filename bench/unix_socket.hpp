#pragma once
/// Bare Unix stream sockets for the bench's socket references.

#include <string>

#include "shm/unique_fd.hpp"

namespace shm::bench {

/// A socket listening at `path`; throws std::system_error on failure.
UniqueFd listen_unix(const std::string& path);
/// A socket connected to `path`; throws std::system_error on failure.
UniqueFd connect_unix(const std::string& path);

}  // namespace shm::bench
