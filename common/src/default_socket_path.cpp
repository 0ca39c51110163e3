#include "shm/default_socket_path.hpp"

#include <cstdlib>

namespace shm {

std::string default_socket_path() {
  const char* env = std::getenv("SHMD_SOCKET");
  return env != nullptr && *env != '\0' ? env : kDefaultSocketPath;
}

}  // namespace shm
