// Workers of atomic_increment: fetch_add through shmd's Value and on a raw std::atomic.

#include <system_error>

#include "gate_report.hpp"
#include "memfd.hpp"
#include "raw_counter.hpp"
#include "shm/mapping.hpp"
#include "shm/shm.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {

void atomic_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  auto value = client.attach_value<int>(arg_string(args, 1));
  const std::uint64_t iters = arg_number(args, 2);
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) value.fetch_add(1);
  report_done();
}

void atomic_raw(const WorkerArgs& args) {
  const std::uint64_t iters = arg_number(args, 0);
  std::error_code ec;
  Mapping map = Mapping::map(kResourceFd, file_size(kResourceFd), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  auto* counter = reinterpret_cast<RawAtomicCounter*>(map.data() + kRawAtomicOffset);
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) counter->value.fetch_add(1);
  report_done();
}

}  // namespace shm::bench
