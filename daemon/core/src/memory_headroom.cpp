#include "shmd/memory_headroom.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

namespace shmd {
namespace {

using namespace std::chrono_literals;

/// A request at least this big always measures afresh: committing it costs far more than that.
constexpr std::uint64_t kFreshAbove = std::uint64_t{1} << 20;
/// A request that would leave less than this (plus the reserve) of an old reading measures afresh.
constexpr std::uint64_t kNearMargin = std::uint64_t{64} << 20;
/// The oldest reading a small request is judged on.
constexpr auto kMaxAge = 100ms;

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// A number file of a cgroup; nullopt if absent, unreadable, or "max" (v2's no limit).
std::optional<std::uint64_t> read_u64(const std::filesystem::path& path) {
  const auto text = read_text(path);
  return text ? parse_u64(*text) : std::nullopt;
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string_view digits = field.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char by) {
  std::vector<std::string_view> parts;
  for (std::size_t at = 0;;) {
    const std::size_t next = text.find(by, at);
    parts.push_back(text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

bool has_option(std::string_view options, std::string_view option) {
  const auto all = split(options, ',');
  return std::find(all.begin(), all.end(), option) != all.end();
}

}  // namespace

MemoryHeadroom::MemoryHeadroom(std::filesystem::path root) : root_(std::move(root)) {
  const auto mountinfo = read_text(at("/proc/self/mountinfo"));
  if (!mountinfo) return;
  for (const std::string_view line : split(*mountinfo, '\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const auto fields = split(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    const std::string_view fstype = dash[1];
    const bool v2 = fstype == "cgroup2";
    if (!v2 && !(fstype == "cgroup" && has_option(dash[3], "memory"))) continue;
    const std::string mount_point = unescape_mountinfo(fields[4]);
    hierarchies_.push_back({v2, at(mount_point), unescape_mountinfo(fields[3])});
  }
}

std::filesystem::path MemoryHeadroom::at(const std::filesystem::path& absolute) const {
  return root_.empty() ? absolute : root_ / absolute.relative_path();
}

std::filesystem::path MemoryHeadroom::own_cgroup(const Hierarchy& h, const std::string& proc_cgroup) const {
  for (const std::string_view line : split(proc_cgroup, '\n')) {
    // ID:CONTROLLERS:PATH; cgroup2 is "0::PATH"
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    if (h.v2 ? !(line.substr(0, first) == "0" && controllers.empty()) : !has_option(controllers, "memory")) continue;
    std::string_view path = line.substr(second + 1);
    // A mount may show a cgroup below the hierarchy's root (a container's own): paths are then
    // relative to it. A cgroup outside what the mount shows can only be bounded from the mount.
    if (h.mount_root != "/") {
      const bool inside =
          path.starts_with(h.mount_root) && (path.size() == h.mount_root.size() || path[h.mount_root.size()] == '/');
      path = inside ? path.substr(h.mount_root.size()) : std::string_view{};
    }
    const std::filesystem::path below = std::filesystem::path(std::string(path)).relative_path();
    return below.empty() ? h.mount : h.mount / below;
  }
  return {};
}

MemoryHeadroom::Reading MemoryHeadroom::measure() const {
  Reading tightest{std::numeric_limits<std::uint64_t>::max(), "no memory limit found"};
  auto bound = [&](std::uint64_t limit, std::uint64_t used, std::string where) {
    const std::uint64_t left = limit - std::min(limit, used);
    if (left < tightest.bytes) tightest = {left, std::move(where)};
  };

  if (const auto meminfo = read_text(at("/proc/meminfo"))) {
    for (const std::string_view line : split(*meminfo, '\n')) {
      if (!line.starts_with("MemAvailable:")) continue;
      std::string_view kib = line.substr(line.find(':') + 1);
      kib.remove_prefix(std::min(kib.find_first_not_of(' '), kib.size()));
      kib = kib.substr(0, kib.find(' '));
      if (const auto value = parse_u64(kib))
        bound(*value * 1024, 0, "the system (MemAvailable " + std::to_string(*value * 1024) + ")");
    }
  }

  const auto proc_cgroup = read_text(at("/proc/self/cgroup"));
  if (!proc_cgroup) return tightest;
  for (const Hierarchy& h : hierarchies_) {
    const std::filesystem::path leaf = own_cgroup(h, *proc_cgroup);
    if (leaf.empty()) continue;
    // Every ancestor's limit applies too, up to the mount point.
    for (std::filesystem::path dir = leaf;; dir = dir.parent_path()) {
      const auto limit = read_u64(dir / (h.v2 ? "memory.max" : "memory.limit_in_bytes"));
      const auto used = read_u64(dir / (h.v2 ? "memory.current" : "memory.usage_in_bytes"));
      if (limit && used) {
        const std::string shown = root_.empty() ? dir.string() : "/" + dir.lexically_relative(root_).string();
        bound(
            *limit, *used,
            "memory cgroup " + shown + " (limit " + std::to_string(*limit) + ", usage " + std::to_string(*used) + ")");
      }
      if (dir == h.mount || !dir.has_relative_path() || dir == dir.parent_path()) break;
    }
  }
  return tightest;
}

shm::Result<void> MemoryHeadroom::admit(std::uint64_t bytes) {
  const auto now = std::chrono::steady_clock::now();
  auto left = [&] { return last_->bytes - std::min(admitted_since_, last_->bytes); };
  for (bool again = false;; again = true) {
    const bool fresh =
        again || !last_ || bytes >= kFreshAbove || now - last_at_ > kMaxAge || left() < kNearMargin + kReserve + bytes;
    if (fresh) {
      last_ = measure();
      last_at_ = now;
      admitted_since_ = 0;
    }
    if (left() >= kReserve && left() - kReserve >= bytes) {
      admitted_since_ += bytes;
      return {};
    }
    if (fresh)
      return shm::fail(shm::Errc::limit_exceeded,
                       "segment of " + std::to_string(bytes) +
                           " bytes cannot be committed to memory: " + std::to_string(left()) + " bytes are left in " +
                           last_->bound + ", and shmd keeps " + std::to_string(kReserve) +
                           " of them free, so that the kernel's OOM killer does not kill it");
  }
}

}  // namespace shmd
