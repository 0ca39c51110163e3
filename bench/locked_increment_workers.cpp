// Workers of locked_increment: the same loop through shmd, a raw robust mutex, and Boost.

#include <cerrno>
#include <system_error>

#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include "gate_report.hpp"
#include "memfd.hpp"
#include "raw_counter.hpp"
#include "shm/mapping.hpp"
#include "shm/shm.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {

void locked_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  auto value = client.attach_value<int>(arg_string(args, 1));
  const std::uint64_t iters = arg_number(args, 2);
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) {
    auto guard = value.lock();
    ++value.get();
  }
  report_done();
}

void locked_robust(const WorkerArgs& args) {
  const std::uint64_t iters = arg_number(args, 0);
  std::error_code ec;
  Mapping map = Mapping::map(kResourceFd, file_size(kResourceFd), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  auto* counter = reinterpret_cast<RawLockedCounter*>(map.data());
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) {
    if (::pthread_mutex_lock(&counter->mutex) == EOWNERDEAD) ::pthread_mutex_consistent(&counter->mutex);
    ++counter->value;
    ::pthread_mutex_unlock(&counter->mutex);
  }
  report_done();
}

void locked_boost(const WorkerArgs& args) {
  namespace bip = boost::interprocess;
  bip::managed_shared_memory segment(bip::open_only, arg_string(args, 0).c_str());
  auto* counter = segment.find<BoostLockedCounter>(kBoostCounterName).first;
  if (counter == nullptr) throw std::runtime_error("Boost counter not found");
  const std::uint64_t iters = arg_number(args, 1);
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) {
    bip::scoped_lock<bip::interprocess_mutex> lock(counter->mutex);
    ++counter->value;
  }
  report_done();
}

}  // namespace shm::bench
