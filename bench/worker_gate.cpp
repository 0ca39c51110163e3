#include "worker_gate.hpp"

#include <unistd.h>

#include <cerrno>

#include "gate_report.hpp"
#include "pipe.hpp"

namespace shm::bench {

void wait_for_start() {
  const GateReport ready{GateReport::ready, monotonic_ns()};
  write_all(kReportFd, &ready, sizeof ready);
  char byte;
  while (::read(kGoFd, &byte, 1) < 0 && errno == EINTR) {
  }
}

void report_done() {
  const GateReport done{GateReport::done, monotonic_ns()};
  write_all(kReportFd, &done, sizeof done);
}

void report_failed() noexcept {
  const GateReport failed{GateReport::failed, monotonic_ns()};
  [[maybe_unused]] const ssize_t n = ::write(kReportFd, &failed, sizeof failed);
}

}  // namespace shm::bench
