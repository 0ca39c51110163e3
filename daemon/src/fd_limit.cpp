#include "shmd/fd_limit.hpp"

#include <sys/resource.h>

#include <fstream>

namespace shmd {
namespace {

// The kernel's ceiling for RLIMIT_NOFILE; a privileged daemon may raise its hard limit to it.
rlim_t kernel_nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  rlim_t value = 0;
  in >> value;
  return value;
}

}  // namespace

std::uint64_t raise_fd_limit() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  try {
    // Only succeeds with CAP_SYS_RESOURCE (e.g. root outside systemd's LimitNOFILE); harmless otherwise.
    if (const rlim_t ceiling = kernel_nr_open(); ceiling > lim.rlim_max) {
      const rlimit raised{ceiling, ceiling};
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return ceiling;
    }
  } catch (...) {
  }
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur;
}

}  // namespace shmd
