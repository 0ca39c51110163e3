#include "segment_text.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <ctime>
#include <vector>

#include "json_object.hpp"
#include "shm/octal_mode.hpp"

namespace shmctl {
namespace {

/// A buffer size for the reentrant passwd/group lookups.
std::size_t lookup_buffer_size(int which) {
  const long n = ::sysconf(which);
  return n > 0 ? static_cast<std::size_t>(n) : std::size_t{16384};
}

}  // namespace

std::string type_label(const shm::SegmentInfo& info) {
  std::string label(1, info.typecode);
  if (info.kind == shm::Kind::array) label += "[" + std::to_string(info.length) + "]";
  return label;
}

std::string state_label(const shm::SegmentInfo& info) {
  std::string state = info.removed ? "removed" : "live";
  if (info.ephemeral) state += ",ephemeral";
  return state;
}

std::string user_name(std::uint32_t uid) {
  std::vector<char> buf(lookup_buffer_size(_SC_GETPW_R_SIZE_MAX));
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr) return found->pw_name;
  return std::to_string(uid);
}

std::string group_name(std::uint32_t gid) {
  std::vector<char> buf(lookup_buffer_size(_SC_GETGR_R_SIZE_MAX));
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr) return found->gr_name;
  return std::to_string(gid);
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto secs = floor<seconds>(ms);
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  const auto millis = (ms - secs).count();
  std::string frac = std::to_string(millis);
  frac.insert(0, 3 - frac.size(), '0');
  return std::string(buf.data(), n) + "." + frac + "Z";
}

std::string segment_json(const shm::SegmentInfo& info) {
  return JsonObject{}
      .string("name", info.name)
      .number("id", info.id)
      .string("kind", shm::kind_name(info.kind))
      .string("typecode", std::string(1, info.typecode))
      .number("length", info.length)
      .number("element_size", info.element_size)
      .number("size_bytes", info.size_bytes)
      .number("refcount", info.refcount)
      .number("holds", info.holds)
      .number("uid", info.uid)
      .number("gid", info.gid)
      .string("mode", shm::octal_mode(info.mode))
      .boolean("ephemeral", info.ephemeral)
      .boolean("removed", info.removed)
      .number("creator_pid", info.creator_pid)
      .string("created", iso8601_utc(info.created))
      .str();
}

}  // namespace shmctl
