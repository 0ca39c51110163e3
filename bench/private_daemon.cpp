#include "private_daemon.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "pipe.hpp"

namespace shm::bench {
namespace {

/// The daemon's --ready-fd, as numbered in its process.
constexpr int kReadyFd = 3;

ChildProcess spawn(const std::string& shmd, const std::string& socket, const std::vector<std::string>& args,
                   const Pipe& ready) {
  std::vector<std::string> argv{shmd,          "--socket", socket, "--ready-fd", std::to_string(kReadyFd),
                                "--log-level", "error"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ChildProcess(argv, {{ready.write.get(), kReadyFd}});
}

}  // namespace

PrivateDaemon::PrivateDaemon(const std::string& shmd, const std::vector<std::string>& args)
    : socket_(dir_.path() + "/s"), process_([&] {
        Pipe ready = Pipe::open();
        ChildProcess child = spawn(shmd, socket_, args, ready);
        ready.write.reset();  // only the daemon holds it now: EOF if it dies first
        std::string said;
        char c;
        for (;;) {
          const ssize_t n = ::read(ready.read.get(), &c, 1);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0 || c == '\n') break;
          said += c;
        }
        if (said != "READY") throw std::runtime_error("the private shmd (" + shmd + ") did not start");
        return child;
      }()) {}

PrivateDaemon::~PrivateDaemon() {
  try {
    process_.terminate();
  } catch (const std::exception&) {
    // It is gone either way; a bench run does not fail for how its helper daemon ended.
  }
}

}  // namespace shm::bench
