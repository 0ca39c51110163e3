#include "daemon_memory.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace shm::bench {

std::uint64_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream words(line.substr(field.size() + 1));
    std::uint64_t kib = 0;
    words >> kib;
    return kib * 1024;
  }
  throw std::runtime_error("no " + field + " in /proc/" + std::to_string(pid) + "/status");
}

}  // namespace shm::bench
