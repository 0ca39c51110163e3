#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "shm/spawn_file_actions.hpp"
#include "shm/unique_fd.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace shm::bench {
namespace {

// Above every target number, so a dup2 never overwrites a source that is still to be mapped.
constexpr int kStagingFloor = 64;

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::pair<int, int>>& fds)
    : name_(argv.at(0)) {
  SpawnFileActions actions;
  std::vector<UniqueFd> staged;  // close-on-exec copies; only their dup2 targets reach the child
  for (const auto& [source, target] : fds) {
    staged.emplace_back(::fcntl(source, F_DUPFD_CLOEXEC, kStagingFloor));
    if (!staged.back()) throw std::system_error(errno, std::generic_category(), "fcntl(F_DUPFD_CLOEXEC)");
    actions.add_dup2(staged.back().get(), target);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  if (const int err = ::posix_spawnp(&pid_, args[0], actions.get(), nullptr, args.data(), environ); err != 0) {
    pid_ = -1;
    throw std::system_error(err, std::generic_category(), "posix_spawn " + name_);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void ChildProcess::wait() {
  if (pid_ < 0) return;
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (r < 0) throw std::system_error(errno, std::generic_category(), "waitpid " + name_);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(name_ + " failed (wait status " + std::to_string(status) + ")");
}

void ChildProcess::terminate() {
  if (pid_ >= 0) ::kill(pid_, SIGTERM);
  wait();
}

}  // namespace shm::bench
