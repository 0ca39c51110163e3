#include "shmd/systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace shmd {

std::vector<InheritedFd> take_inherited_fds() {
  std::vector<InheritedFd> out;
  char** names = nullptr;
  const int n = ::sd_listen_fds_with_names(/*unset_environment=*/1, &names);
  for (int i = 0; i < n; ++i) {
    std::string name = names != nullptr && names[i] != nullptr ? names[i] : "";
    out.push_back(InheritedFd{std::move(name), shm::UniqueFd(SD_LISTEN_FDS_START + i)});
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(static_cast<void*>(names));
  }
  return out;
}

std::optional<std::size_t> fd_store_max_from_environment() {
  const char* text = std::getenv("FDSTORE");
  if (text == nullptr) return std::nullopt;
  const std::string_view value(text);
  std::size_t max = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), max);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  return max;
}

bool is_listening_unix_socket(int fd) noexcept {
  return ::sd_is_socket_unix(fd, SOCK_STREAM, /*listening=*/1, nullptr, 0) > 0;
}

Notifier::Notifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
}

void Notifier::ready(std::string_view status) const {
  if (enabled_) ::sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void Notifier::status(std::string_view status) const {
  if (enabled_) ::sd_notify(0, ("STATUS=" + std::string(status)).c_str());
}

void Notifier::stopping() const {
  if (enabled_) ::sd_notify(0, "STOPPING=1");
}

shm::Result<void> Notifier::store_fd(std::string_view name, int fd) const {
  if (!enabled_) return shm::fail(shm::Errc::internal, "no service manager to keep " + std::string(name));
  const std::string message = "FDSTORE=1\nFDNAME=" + std::string(name);
  const int rc = ::sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
  if (rc > 0) return {};
  return shm::fail(shm::Errc::internal, "cannot send " + std::string(name) + " to the fd store: " +
                                            (rc < 0 ? std::strerror(-rc) : "NOTIFY_SOCKET is not set"));
}

void Notifier::remove_fd(std::string_view name) const {
  if (enabled_) ::sd_notify(0, ("FDSTOREREMOVE=1\nFDNAME=" + std::string(name)).c_str());
}

}  // namespace shmd
