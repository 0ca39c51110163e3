#include "service_manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "shm/wire/fd_passing.hpp"

extern char** environ;

namespace shm::test {
namespace {

UniqueFd bound_socket(int type, const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
  return fd;
}

// Writes `value` in decimal into `out` (async-signal-safe, for use between fork and exec).
void format_decimal(char* out, long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

}  // namespace

ServiceManager::ServiceManager(std::vector<std::string> extra_args, std::size_t fd_store_max, StoreSizeHint hint)
    : extra_args_(std::move(extra_args)), fd_store_max_(fd_store_max), hint_(hint) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "shmd-sm-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_path_ = (dir_ / "shmd.sock").string();
  notify_path_ = (dir_ / "notify").string();
  listener_ = bound_socket(SOCK_STREAM, socket_path_);
  if (::listen(listener_.get(), SOMAXCONN) != 0) throw std::runtime_error("listen failed");
  ::chmod(socket_path_.c_str(), 0666);
  notify_ = bound_socket(SOCK_DGRAM, notify_path_);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  wake_read_.reset(wake[0]);
  wake_write_.reset(wake[1]);
  pump_ = std::thread([this] { pump(); });
}

void ServiceManager::pump() {
  for (;;) {
    pollfd p[2] = {{notify_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    if (p[1].revents != 0) return;
    if (p[0].revents != 0) handle_one_message();
  }
}

ServiceManager::~ServiceManager() {
  if (pid_ > 0) kill9();
  [[maybe_unused]] const ssize_t n = ::write(wake_write_.get(), "x", 1);
  pump_.join();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void ServiceManager::start() {
  ASSERT_EQ(pid_, -1) << "already running";
  drain();
  std::unique_lock lock(mutex_);
  ready_ = false;

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<int> fds{listener_.get()};
  std::string names = "shmd.socket";
  for (const auto& [name, fd] : store_) {
    fds.push_back(fd.get());
    names += ":" + name;
  }
  std::vector<std::string> args{SHMD_BIN, "--socket", socket_path_, "--log-level", "debug"};
  if (hint_ == StoreSizeHint::option) args.insert(args.end(), {"--fd-store-max", std::to_string(fd_store_max_)});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!entry.starts_with("LISTEN_") && !entry.starts_with("NOTIFY_SOCKET=") && !entry.starts_with("FDSTORE="))
      env_strings.emplace_back(entry);
  }
  if (hint_ == StoreSizeHint::environment) env_strings.push_back("FDSTORE=" + std::to_string(fd_store_max_));
  env_strings.push_back("LISTEN_FDS=" + std::to_string(fds.size()));
  env_strings.push_back("LISTEN_FDNAMES=" + names);
  env_strings.push_back("NOTIFY_SOCKET=" + notify_path_);
  std::array<char, 64> listen_pid{"LISTEN_PID="};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(listen_pid.data());
  envp.push_back(nullptr);
  const std::string log_path = (dir_ / "shmd.log").string();
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int high = 1000;  // staging area, above anything in use

  pid_ = ::fork();  // the pump thread holds no lock we need in the child: mutex_ is ours now
  if (pid_ == 0) {
    format_decimal(listen_pid.data() + std::strlen("LISTEN_PID="), static_cast<long>(::getpid()));
    ::dup2(log_fd, STDERR_FILENO);
    for (std::size_t i = 0; i < fds.size(); ++i) ::dup2(fds[i], high + static_cast<int>(i));
    for (std::size_t i = 0; i < fds.size(); ++i) {
      ::dup2(high + static_cast<int>(i), 3 + static_cast<int>(i));  // dup2 clears FD_CLOEXEC
      ::close(high + static_cast<int>(i));
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  lock.unlock();
  ::close(log_fd);
  ASSERT_GT(pid_, 0) << "fork failed";

  // Await READY=1 (never sleep for it): the pump thread sets it; we also notice if shmd dies.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      std::unique_lock wait(mutex_);
      // Woken by each notification; the timeout only bounds how late a crash is noticed.
      if (changed_.wait_for(wait, std::chrono::milliseconds(100), [this] { return ready_; })) return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "shmd exited before READY=1; log:\n" << log();
    }
    if (std::chrono::steady_clock::now() > deadline) FAIL() << "no READY=1 within 30 s; log:\n" << log();
  }
}

void ServiceManager::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  drain();
  std::lock_guard lock(mutex_);
  ready_ = false;
}

int ServiceManager::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  drain();
  std::lock_guard lock(mutex_);
  ready_ = false;
  return status;
}

void ServiceManager::drain() {
  // Datagrams already sent are queued on notify_; wait until the pump thread has taken them all.
  for (;;) {
    int queued = 0;
    {
      std::lock_guard lock(mutex_);  // held while a message is handled, so "empty" means "processed"
      if (::ioctl(notify_.get(), FIONREAD, &queued) == 0 && queued == 0) return;
    }
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 1);
  }
}

std::size_t ServiceManager::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

std::string ServiceManager::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

bool ServiceManager::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

bool ServiceManager::handle_one_message() {
  std::array<std::byte, 4096> buffer;
  std::vector<UniqueFd> fds;
  std::error_code ec;
  std::lock_guard lock(mutex_);
  const std::size_t n = wire::recv_with_fds(notify_.get(), buffer, fds, ec);
  if (ec) return false;
  std::map<std::string, std::string> fields;
  std::istringstream lines(std::string(reinterpret_cast<const char*>(buffer.data()), n));
  for (std::string line; std::getline(lines, line);) {
    if (auto eq = line.find('='); eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (fields["READY"] == "1") ready_ = true;
  if (fields.contains("STATUS")) status_ = fields["STATUS"];
  if (fields["FDSTORE"] == "1") {
    // As systemd: "Cannot store more fds than FileDescriptorStoreMax=N, closing remaining."
    for (auto& fd : fds) {
      if (store_.size() < fd_store_max_)
        store_.emplace(fields["FDNAME"], std::move(fd));
      else
        ++refused_;
    }
  }
  if (fields["FDSTOREREMOVE"] == "1") store_.erase(fields["FDNAME"]);
  changed_.notify_all();
  return true;
}

std::size_t ServiceManager::stored(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [name, fd] : store_) count += name.starts_with(prefix) ? 1U : 0U;
  return count;
}

std::string ServiceManager::log() const {
  std::ifstream in(dir_ / "shmd.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace shm::test
