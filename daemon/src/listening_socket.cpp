#include "shmd/listening_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace shmd {
namespace {

using shm::Errc;

std::string errno_text(int err) { return std::strerror(err); }

shm::Failure system_failure(const std::string& what, int err) {
  return shm::fail(shm::errc_from_errno(err), what + ": " + errno_text(err));
}

// True when a daemon accepts connections on `addr`.
bool someone_answers(const sockaddr_un& addr) {
  shm::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

shm::Result<shm::UniqueFd> bind_listening_socket(const std::string& path, std::uint32_t mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return shm::fail(Errc::invalid_argument, "socket path '" + path + "' must be 1.." +
                                                 std::to_string(sizeof addr.sun_path - 1) + " bytes long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return shm::fail(Errc::system_error, "cannot create directory " + parent.string() + ": " + ec.message());
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return shm::fail(Errc::already_exists, path + " exists and is not a socket; refusing to replace it");
    if (someone_answers(addr)) return shm::fail(Errc::already_exists, "another daemon is already answering on " + path);
    if (::unlink(path.c_str()) != 0) return system_failure("cannot remove stale socket " + path, errno);
  }

  shm::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return system_failure("socket", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return system_failure("cannot bind " + path, errno);
  if (::chmod(path.c_str(), mode) != 0) return system_failure("cannot chmod " + path, errno);
  if (::listen(fd.get(), SOMAXCONN) != 0) return system_failure("listen on " + path, errno);
  return fd;
}

}  // namespace shmd
