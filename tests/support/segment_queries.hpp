#pragma once
/// What integration tests ask a daemon about a segment through libshmclient, and the command
/// line of the shm-test-peer client process.

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "shm/shm.hpp"

namespace shm::test {

/// The segment's reference count, or -1 if the daemon does not know the name.
inline long refcount(shm::Client& client, std::string_view name) {
  std::error_code ec;
  const auto info = client.info(name, ec);
  return ec ? -1 : static_cast<long>(info.refcount);
}

/// True if `name` is not (or no longer) a segment name.
inline bool gone(shm::Client& client, std::string_view name) {
  std::error_code ec;
  client.info(name, ec);
  return ec == shm::Errc::not_found;
}

/// A peer command line: shm-test-peer SOCKET args... (tests/support/peer_main.cpp).
inline std::vector<std::string> peer_command(const std::string& socket_path, std::vector<std::string> args) {
  args.insert(args.begin(), {SHM_TEST_PEER_BIN, socket_path});
  return args;
}

}  // namespace shm::test
