#include "worker_gate.hpp"

#include <unistd.h>

#include <cerrno>

#include "cpu_time.hpp"
#include "gate_report.hpp"
#include "pipe.hpp"

namespace shm::bench {
namespace {

std::int64_t released_cpu_ns = 0;  // this process's CPU time when the group released it

}  // namespace

void wait_for_start() {
  const GateReport ready{GateReport::ready, monotonic_ns(), 0};
  write_all(kReportFd, &ready, sizeof ready);
  char byte;
  while (::read(kGoFd, &byte, 1) < 0 && errno == EINTR) {
  }
  released_cpu_ns = own_cpu_ns();
}

void report_done() {
  const GateReport done{GateReport::done, monotonic_ns(), own_cpu_ns() - released_cpu_ns};
  write_all(kReportFd, &done, sizeof done);
}

void report_failed() noexcept {
  const GateReport failed{GateReport::failed, monotonic_ns(), 0};
  [[maybe_unused]] const ssize_t n = ::write(kReportFd, &failed, sizeof failed);
}

}  // namespace shm::bench
