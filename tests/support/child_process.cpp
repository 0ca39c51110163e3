#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "poll_deadline.hpp"
#include "shm/spawn_file_actions.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace shm::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

/// Both ends of a new pipe, close-on-exec (spawn's dup2 clears that for the child's copy).
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2", errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Starts `argv` (searching PATH) with this process's environment plus `env`.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            SpawnFileActions& actions) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> environment = child_environment(env);
  std::vector<char*> envp;
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (const int rc = ::posix_spawnp(&pid, args[0], actions.get(), nullptr, args.data(), envp.data()); rc != 0)
    throw_errno("posix_spawn " + argv[0], rc);
  return pid;
}

/// Reads what is available on `fd` into `out`; false at EOF (or a read error).
bool read_some(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

/// Fills exit_code/signal of `r` from a wait status.
void decode_status(int status, RunResult& r) {
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    r.signal = 0;
  } else if (WIFSIGNALED(status)) {
    r.exit_code = -1;
    r.signal = WTERMSIG(status);
  }
}

/// Waits for `pid` and reaps it; kills it with SIGKILL (failing the test) after `timeout`.
int reap(pid_t pid, std::chrono::milliseconds timeout, const std::string& what) {
  if (auto status = wait_for_exit(pid, timeout)) return *status;
  ADD_FAILURE() << what << " (pid " << pid << ") did not exit within " << timeout.count() << " ms; killing it";
  ::kill(pid, SIGKILL);
  return wait_for_exit(pid, std::chrono::minutes(1)).value_or(-1);
}

}  // namespace

std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> result;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (overrides.contains(std::string(entry.substr(0, eq)))) continue;
    result.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) result.push_back(key + "=" + value);
  return result;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  // A pidfd becomes readable when the process exits, so this waits without polling in a loop.
  // Called through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link it.
  const UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const int rc = ::poll(&p, 1, ms_until(deadline));
      if (rc > 0) break;
      if (rc == 0 && Clock::now() >= deadline) return std::nullopt;
      if (rc < 0 && errno != EINTR) break;
    }
  }
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return status;
    if (r < 0 && errno == EINTR) continue;
    return std::nullopt;  // not our child, or already reaped
  }
}

RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::seconds timeout) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  SpawnFileActions actions;
  actions.add_open(0, "/dev/null", O_RDONLY);
  actions.add_dup2(out.write.get(), 1);
  actions.add_dup2(err.write.get(), 2);
  const pid_t pid = spawn(argv, env, actions);
  out.write.reset();
  err.write.reset();

  RunResult result;
  // Drain both pipes together: a child that fills one while we block on the other would deadlock.
  const auto deadline = Clock::now() + timeout;
  bool killed = false;
  while (out.read || err.read) {
    pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    const int rc = ::poll(fds, 2, ms_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0 && Clock::now() >= deadline && !killed) {
      ADD_FAILURE() << "`" << argv[0] << "` ran longer than " << timeout.count() << " s; killing it";
      ::kill(pid, SIGKILL);
      killed = true;  // its pipes close now, so the loop ends
      continue;
    }
    if (fds[0].revents != 0 && !read_some(out.read.get(), result.out)) out.read.reset();
    if (fds[1].revents != 0 && !read_some(err.read.get(), result.err)) err.read.reset();
  }
  decode_status(reap(pid, std::chrono::seconds(30), argv[0]), result);
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  SpawnFileActions actions;
  actions.add_dup2(in.read.get(), 0);
  actions.add_dup2(out.write.get(), 1);
  pid_ = spawn(argv, env, actions);
  stdin_fd_ = std::move(in.write);
  stdout_fd_ = std::move(out.read);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(30), "killed child");
  }
}

std::string ChildProcess::read_line(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    if (!stdout_fd_) return std::exchange(pending_, {});
    pollfd p{stdout_fd_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      if (Clock::now() < deadline) continue;
      ADD_FAILURE() << "child " << pid_ << " printed no line within " << timeout.count() << " s (partial output: \""
                    << pending_ << "\")";
      return {};
    }
    if (!read_some(stdout_fd_.get(), pending_)) stdout_fd_.reset();
  }
}

void ChildProcess::write_line(std::string_view line) {
  std::string data(line);
  data.push_back('\n');
  std::size_t done = 0;
  while (stdin_fd_ && done < data.size()) {
    const ssize_t n = ::write(stdin_fd_.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ADD_FAILURE() << "writing to child " << pid_ << "'s stdin: " << std::strerror(errno);
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

void ChildProcess::close_stdin() { stdin_fd_.reset(); }

void ChildProcess::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

RunResult ChildProcess::wait(std::chrono::seconds timeout) {
  RunResult result;
  result.out = std::exchange(pending_, {});
  const auto deadline = Clock::now() + timeout;
  while (stdout_fd_) {
    pollfd p{stdout_fd_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      if (Clock::now() < deadline) continue;
      break;  // reap() below reports the timeout and kills
    }
    if (!read_some(stdout_fd_.get(), result.out)) stdout_fd_.reset();
  }
  if (pid_ > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    decode_status(reap(pid_, std::max(left, std::chrono::milliseconds(1)), "child"), result);
    pid_ = -1;
  }
  stdout_fd_.reset();
  stdin_fd_.reset();
  return result;
}

std::string copy_for_other_users(const std::string& binary, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path copy = fs::path(dir) / fs::path(binary).filename();
  fs::copy_file(binary, copy, fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms(0755));
  return copy.string();
}

}  // namespace shm::test
