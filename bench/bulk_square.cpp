// bulk_square: lab exercise 2 scaled up, two processes squaring an int Array in place.

#include <iostream>
#include <span>
#include <stdexcept>

#include "figures.hpp"
#include "memfd.hpp"
#include "python_reference.hpp"
#include "sampling.hpp"
#include "shm/shm.hpp"
#include "worker_group.hpp"

namespace shm::bench {
namespace {

constexpr int kProcesses = 2;

// Values whose squares fit an int, refilled before every round (squaring twice would overflow).
void fill(std::span<int> data) {
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int>(i & 0x3fff);
}

// Allocates both sides' pages in alternating 1 MiB steps, so that both loops run over the same
// kind of physical memory. Allocated one file after the other, whichever came first ran up to
// 20 % slower on this VM, with the same loop in the same process (docs/performance.md).
void fill_both(std::span<int> a, std::span<int> b) {
  constexpr std::size_t kStep = (1u << 20) / sizeof(int);
  for (std::size_t at = 0; at < a.size(); at += kStep) {
    const std::size_t count = std::min(kStep, a.size() - at);
    fill(a.subspan(at, count));
    fill(b.subspan(at, count));
  }
}

void check(std::span<const int> data, const char* what) {
  for (std::size_t i = 0; i < data.size(); i += 4099) {
    const int x = static_cast<int>(i & 0x3fff);
    if (data[i] != x * x)
      throw std::runtime_error(std::string(what) + ": element " + std::to_string(i) + " not squared");
  }
}

}  // namespace

void bulk_square(const BenchConfig& config, Report& report) {
  const std::size_t n = config.scaled(64u << 20, 4);
  const std::string half = std::to_string(n / 2);
  const std::string end = std::to_string(n);

  Client client(config.socket);
  CreateOptions options;
  options.ephemeral = true;
  auto array = client.create_array<int>("bench.square", n, options);

  UniqueFd raw_fd = make_memfd(n * sizeof(int));
  std::error_code ec;
  Mapping raw_map = Mapping::map(raw_fd.get(), n * sizeof(int), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  const std::span<int> raw(reinterpret_cast<int*>(raw_map.data()), n);
  fill_both(array.span(), raw);

  auto per_element = [&](std::chrono::nanoseconds t) {
    return static_cast<double>(t.count()) / static_cast<double>(n);
  };
  const auto samples =
      interleaved_twins(config.rounds(), std::vector<Sample>{
                                             [&] {
                                               fill(array.span());
                                               WorkerGroup group(config.worker);
                                               group.add({"square_shmd", config.socket, "bench.square", "0", half});
                                               group.add({"square_shmd", config.socket, "bench.square", half, end});
                                               const double ns = per_element(group.run());
                                               check(array.span(), "shmd");
                                               return ns;
                                             },
                                             [&] {
                                               fill(raw);
                                               WorkerGroup group(config.worker);
                                               group.add({"square_raw", "0", half}, raw_fd.get());
                                               group.add({"square_raw", half, end}, raw_fd.get());
                                               const double ns = per_element(group.run());
                                               check(raw, "raw");
                                               return ns;
                                             },
                                         });
  report.figure("bulk_square/raw_mmap", samples[0], samples[1], "ns/element", 1.10,
                std::to_string(n) + " 'i' elements, 2 processes, one half each; page faults on first touch included");

  const std::uint64_t py_n = config.scaled(400'000, 4);
  const Twin py = interleaved_twins(
      config.python_rounds(), std::vector<Sample>{[&] {
        return run_python_reference(config, "mp_array_square.py", {std::to_string(kProcesses), std::to_string(py_n)});
      }})[0];
  report.figure("bulk_square/python_mp_array", samples[0], py, "ns/element", 0.02,
                "Python: multiprocessing.Array('i', " + std::to_string(py_n) + "), 2 processes, a[i] = a[i] ** 2");
  std::cerr << "shmd_bench: bulk_square done\n";
}

}  // namespace shm::bench
