#include "process.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "shm/spawn_file_actions.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace shm::lab {
namespace {}  // namespace

Process::Process(std::string name, const Target& target, SegmentRef segment, std::vector<std::string> args)
    : name_(std::move(name)), target_(target.name), segment_(std::move(segment)), args_(std::move(args)) {}

Process::Process(Process&& other) noexcept
    : name_(std::move(other.name_)),
      target_(other.target_),
      segment_(std::move(other.segment_)),
      args_(std::move(other.args_)),
      pid_(std::exchange(other.pid_, -1)),
      status_(other.status_) {}

Process::~Process() {
  try {
    join();
  } catch (const std::exception& e) {
    std::cerr << "shm-lab: cannot wait for " << name_ << ": " << e.what() << '\n';
  }
}

void Process::start() {
  if (pid_ != -1 || status_) throw std::logic_error("process " + name_ + " was already started");
  std::vector<std::string> words{"shm-lab",    std::string(kChildCommand), std::string(target_), name_, segment_.socket,
                                 segment_.name};
  words.insert(words.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  argv.reserve(words.size() + 1);
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  shm::SpawnFileActions actions;
  // Like multiprocessing's spawn, the child inherits nothing but the standard streams: not the
  // parent's daemon connection, nor its segment fds, even one that lacked O_CLOEXEC.
  if (const int err = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3); err != 0)
    throw std::system_error(err, std::generic_category(), "posix_spawn_file_actions_addclosefrom_np");
  pid_t pid = -1;
  // /proc/self/exe rather than argv[0]: the very same binary, wherever it was started from.
  if (const int err = ::posix_spawn(&pid, "/proc/self/exe", actions.get(), nullptr, argv.data(), environ); err != 0)
    throw std::system_error(err, std::generic_category(), "cannot start " + name_);
  pid_ = pid;
}

void Process::join() {
  if (pid_ == -1) return;
  int status = 0;
  while (::waitpid(pid_, &status, 0) == -1) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid for " + name_);
  }
  pid_ = -1;
  status_ = status;
}

std::optional<int> Process::exitcode() const noexcept {
  if (!status_) return std::nullopt;
  if (WIFSIGNALED(*status_)) return -WTERMSIG(*status_);
  return WEXITSTATUS(*status_);
}

std::string Process::describe_exit() const {
  const auto code = exitcode();
  if (!code) return pid_ == -1 ? "was never started" : "is still running";
  if (*code >= 0) return "exited with status " + std::to_string(*code);
  const int sig = -*code;
  const char* abbrev = ::sigabbrev_np(sig);
  return "was killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

bool report_failures(std::span<const Process> processes) {
  bool all_ok = true;
  for (const auto& p : processes) {
    if (p.exitcode() == 0) continue;
    all_ok = false;
    std::cerr << "shm-lab: " << p.name() << ' ' << p.describe_exit() << '\n';
  }
  return all_ok;
}

}  // namespace shm::lab
