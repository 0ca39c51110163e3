#include "machine_info.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace shm::bench {
namespace {

// The value of the first "key : value" line of `file` whose key is `key`.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k != key) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string() : line.substr(start);
  }
  return "unknown";
}

}  // namespace

void describe_machine(Report& report) {
  report.machine("nproc", static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN)));
  report.machine("cpu", proc_field("/proc/cpuinfo", "model name"));
  utsname u{};
  if (::uname(&u) == 0) report.machine("kernel", std::string(u.sysname) + " " + u.release + " " + u.machine);
  report.machine("memory", proc_field("/proc/meminfo", "MemTotal"));
}

}  // namespace shm::bench
