#include "daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "child_process.hpp"
#include "shm/spawn_file_actions.hpp"

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;

/// How long a daemon may take to report readiness, and to exit after a signal.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(20);

/// A fresh directory under $TMPDIR (or /tmp). Kept short: socket paths are limited to 107 bytes.
std::filesystem::path make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/shmd-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  return pattern;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Waits for the daemon's readiness line on `ready`. Returns "" on success, else why not.
std::string await_ready(int ready) {
  const auto deadline = Clock::now() + kStartTimeout;
  std::string got;
  for (;;) {
    if (got.find('\n') != std::string::npos) return {};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "shmd did not report readiness within 30 s";
    pollfd p{ready, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[64];
    const ssize_t n = ::read(ready, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "shmd closed its readiness pipe without a line (it died?); got \"" + got + "\"";
    got.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

DaemonProcess::DaemonProcess(std::vector<std::string> extra_args, const Prepare& prepare)
    : dir_(make_temp_dir()), socket_path_((dir_ / "shmd.sock").string()) {
  const auto log_path = (dir_ / "shmd.log").string();
  try {
    if (prepare) prepare(dir_);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    UniqueFd ready_read(fds[0]);
    UniqueFd ready_write(fds[1]);

    std::vector<std::string> argv = {
        SHMD_BIN, "--socket", socket_path_, "--ready-fd", std::to_string(ready_write.get()), "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> environment = child_environment({});
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);

    SpawnFileActions actions;
    actions.add_open(0, "/dev/null", O_RDONLY);
    actions.add_open(2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    actions.add_dup2(2, 1);
    // dup2 onto itself clears FD_CLOEXEC in the child only (glibc >= 2.29), so just the daemon inherits it.
    actions.add_dup2(ready_write.get(), ready_write.get());
    const int rc = ::posix_spawn(&pid_, SHMD_BIN, actions.get(), nullptr, args.data(), envp.data());
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " SHMD_BIN);
    ready_write.reset();  // else EOF never comes if the daemon dies

    if (std::string why = await_ready(ready_read.get()); !why.empty()) {
      ::kill(pid_, SIGKILL);
      const auto status = wait_for_exit(pid_, kStopTimeout);
      pid_ = -1;
      std::string how;
      if (status && WIFEXITED(*status)) how = " (exit code " + std::to_string(WEXITSTATUS(*status)) + ")";
      if (status && WIFSIGNALED(*status)) how = " (signal " + std::to_string(WTERMSIG(*status)) + ")";
      throw std::runtime_error(why + how + "\n--- shmd log ---\n" + read_file(log_path));
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "starting shmd in " << dir_ << " failed: " << e.what();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(pid_, kStopTimeout);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

DaemonProcess::~DaemonProcess() {
  // A daemon that does not exit cleanly here has failed the test, even if every check passed: a
  // sanitizer that found something in it (TSan exits 66 at the end, or at once with halt_on_error)
  // is seen only this way.
  if (pid_ > 0) {
    const int status = stop(SIGTERM);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      ADD_FAILURE() << "shmd did not exit cleanly on SIGTERM (wait status " << status << ")\n--- shmd log ---\n"
                    << log();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string DaemonProcess::log() const { return read_file(dir_ / "shmd.log"); }

std::size_t DaemonProcess::open_fds() const {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

int DaemonProcess::stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  auto status = wait_for_exit(pid_, kStopTimeout);
  if (!status) {
    ADD_FAILURE() << "shmd did not exit within 20 s of signal " << sig << "; killing it\n--- shmd log ---\n" << log();
    ::kill(pid_, SIGKILL);
    status = wait_for_exit(pid_, kStopTimeout);
  }
  pid_ = -1;
  return status.value_or(-1);
}

bool DaemonProcess::running() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // WNOWAIT: look without reaping, so stop() still gets the status.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

}  // namespace shm::test
