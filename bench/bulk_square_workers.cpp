// Workers of bulk_square: lab exercise 2's loop over a shmd Array and over a raw mapping.

#include <span>
#include <system_error>

#include "gate_report.hpp"
#include "memfd.hpp"
#include "shm/mapping.hpp"
#include "shm/shm.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {

void square_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  auto array = client.attach_array<int>(arg_string(args, 1));
  const auto lo = static_cast<std::size_t>(arg_number(args, 2));
  const auto hi = static_cast<std::size_t>(arg_number(args, 3));
  wait_for_start();
  for (int& x : array.span().subspan(lo, hi - lo)) x = x * x;
  report_done();
}

void square_raw(const WorkerArgs& args) {
  const auto lo = static_cast<std::size_t>(arg_number(args, 0));
  const auto hi = static_cast<std::size_t>(arg_number(args, 1));
  std::error_code ec;
  Mapping map = Mapping::map(kResourceFd, file_size(kResourceFd), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  int* data = reinterpret_cast<int*>(map.data());
  wait_for_start();
  for (std::size_t i = lo; i < hi; ++i) data[i] = data[i] * data[i];
  report_done();
}

}  // namespace shm::bench
