#include "worker_group.hpp"

#include <algorithm>
#include <stdexcept>

#include "cpu_time.hpp"
#include "gate_report.hpp"

namespace shm::bench {

WorkerGroup::WorkerGroup(std::string worker_path)
    : worker_path_(std::move(worker_path)), go_(Pipe::open()), report_(Pipe::open()) {}

void WorkerGroup::add(const std::vector<std::string>& args, int resource) {
  std::vector<std::string> argv{worker_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::pair<int, int>> fds{{go_.read.get(), kGoFd}, {report_.write.get(), kReportFd}};
  if (resource >= 0) fds.emplace_back(resource, kResourceFd);
  children_.emplace_back(argv, fds);
}

std::chrono::nanoseconds WorkerGroup::run() {
  // Only the workers may keep the report pipe open, so a crash shows up as EOF, not a hang.
  report_.write.reset();
  go_.read.reset();
  GateReport r{};
  for (std::size_t ready = 0; ready < children_.size(); ++ready) {
    if (!read_exact(report_.read.get(), &r, sizeof r) || r.kind != GateReport::ready) {
      go_.write.reset();
      throw std::runtime_error("a bench worker failed while setting up");
    }
  }
  const std::int64_t watched_start = watched_cpu_ns();
  const std::int64_t start = monotonic_ns();
  go_.write.reset();
  std::int64_t last = start;
  std::int64_t cpu = 0;
  for (std::size_t done = 0; done < children_.size(); ++done) {
    if (!read_exact(report_.read.get(), &r, sizeof r) || r.kind != GateReport::done)
      throw std::runtime_error("a bench worker failed while measuring");
    last = std::max(last, r.mono_ns);
    cpu += r.cpu_ns;
  }
  watched_cpu_ = std::chrono::nanoseconds(watched_cpu_ns() - watched_start);
  workers_cpu_ = std::chrono::nanoseconds(cpu);
  for (auto& c : children_) c.wait();
  return std::chrono::nanoseconds(last - start);
}

std::int64_t WorkerGroup::watched_cpu_ns() const {
  std::int64_t sum = 0;
  for (const pid_t pid : watched_) sum += process_cpu_ns(pid);
  return sum;
}

}  // namespace shm::bench
