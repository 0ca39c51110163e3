#include "memory_cgroup.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "eventually.hpp"

namespace shm::test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "reading " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// One write(2) per value: a cgroup file takes one value per write.
void write_text(const std::filesystem::path& path, const std::string& value) {
  std::ofstream out(path);
  out << value << std::flush;
  if (!out) throw std::system_error(errno, std::generic_category(), "writing '" + value + "' to " + path.string());
}

std::uint64_t read_number(const std::filesystem::path& path, const std::string& key = {}) {
  std::istringstream in(read_text(path));
  if (key.empty()) {
    std::uint64_t value = 0;
    in >> value;
    return value;
  }
  std::string name;
  std::uint64_t value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  throw std::runtime_error("no '" + key + "' in " + path.string());
}

}  // namespace

std::filesystem::path MemoryCgroup::own_v1_cgroup() {
  std::filesystem::path mount;
  std::istringstream mountinfo(read_text("/proc/self/mountinfo"));
  for (std::string line; std::getline(mountinfo, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    const auto dash =
        std::find(f.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(6, f.size())), f.end(), "-");
    if (f.size() < 6 || f.end() - dash < 4) continue;
    // Only a mount that shows the whole hierarchy: /proc/self/cgroup's paths are relative to its root.
    if (dash[1] == "cgroup" && ("," + dash[3] + ",").find(",memory,") != std::string::npos && f[3] == "/") mount = f[4];
  }
  if (mount.empty()) return {};
  std::istringstream cgroups(read_text("/proc/self/cgroup"));
  for (std::string line; std::getline(cgroups, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (second == std::string::npos) continue;
    if (("," + line.substr(first + 1, second - first - 1) + ",").find(",memory,") == std::string::npos) continue;
    return mount / std::filesystem::path(line.substr(second + 1)).relative_path();
  }
  return {};
}

MemoryCgroup::MemoryCgroup(const std::string& name, std::uint64_t limit_bytes) : dir_(own_v1_cgroup() / name) {
  std::error_code ec;
  if (!std::filesystem::create_directory(dir_, ec) || ec)
    throw std::system_error(ec ? ec : std::make_error_code(std::errc::file_exists), "mkdir " + dir_.string());
  try {
    write_text(dir_ / "memory.limit_in_bytes", std::to_string(limit_bytes));
  } catch (...) {
    std::filesystem::remove(dir_, ec);
    throw;
  }
}

MemoryCgroup::~MemoryCgroup() {
  // A cgroup with tasks cannot be removed: hand them back to the parent (a test that failed
  // half-way may have left its daemon here). Exited tasks leave it on their own schedule.
  const bool empty = eventually([&] {
    try {
      std::istringstream pids(read_text(dir_ / "cgroup.procs"));
      bool none = true;
      for (std::string pid; pids >> pid; none = false) {
        try {
          write_text(dir_.parent_path() / "cgroup.procs", pid);
        } catch (const std::system_error&) {  // it exited meanwhile
        }
      }
      return none;
    } catch (const std::exception&) {
      return true;
    }
  });
  std::error_code ec;
  if (!empty || !std::filesystem::remove(dir_, ec))
    std::fprintf(stderr, "MemoryCgroup: could not remove %s: %s\n", dir_.c_str(), ec.message().c_str());
}

void MemoryCgroup::add(pid_t pid) const { write_text(dir_ / "cgroup.procs", std::to_string(pid)); }

std::uint64_t MemoryCgroup::usage() const { return read_number(dir_ / "memory.usage_in_bytes"); }

std::uint64_t MemoryCgroup::failcnt() const { return read_number(dir_ / "memory.failcnt"); }

std::uint64_t MemoryCgroup::oom_kills() const { return read_number(dir_ / "memory.oom_control", "oom_kill"); }

}  // namespace shm::test
