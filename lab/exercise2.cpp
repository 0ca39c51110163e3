// Exercise 2 of the lab sheet: generate random numbers in [0, 10]; process 1 squares the first
// half and process 2 the second half, into a shared Array. In Python:
//
//   def square(a, begin, end):
//       for i in range(begin, end):
//           a[i] = a[i] * a[i]
//   numbers = [random.randint(0, 10) for _ in range(10)]
//   arr = multiprocessing.Array('i', numbers)
//   p1 = Process(target=square, args=(arr, 0, 5)); p2 = Process(target=square, args=(arr, 5, 10))
//   p1.start(); p2.start(); p1.join(); p2.join()
//   print(numbers); print(arr[:])
//
// The children get the numbers through the shared Array, squaring them in place: all they are
// handed is its name, and each knows its half only by index.
#include <array>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "process.hpp"
#include "shm/format.hpp"
#include "tasks.hpp"

namespace shm::lab {
namespace {

/// The target both processes run, each on its own half; the halves never overlap, so no lock.
void square(shm::Array<int>& a, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) a[i] = a[i] * a[i];
}

/// The child's main. Arguments: BEGIN END.
int square_child(const ChildArgs& args) {
  if (args.args.size() != 2) throw LabError("expected BEGIN END");
  const std::size_t begin = parse_count(args.args[0]);
  const std::size_t end = parse_count(args.args[1]);

  auto client = connect(args.segment.socket);
  auto a = attach_array<int>(client, args.segment);
  if (begin > end || end > a.size())
    throw LabError("range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the " +
                   std::to_string(a.size()) + " elements of '" + args.segment.name + "'");
  square(a, begin, end);
  return 0;
}

constexpr Target kSquare{"exercise2.square", &square_child};
constexpr std::array kTargets{kSquare};

/// `count` random integers in [0, 10] from `seed`.
std::vector<int> random_numbers(std::uint32_t seed, std::size_t count) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> zero_to_ten(0, 10);
  std::vector<int> numbers(count);
  for (auto& x : numbers) x = zero_to_ten(generator);
  return numbers;
}

}  // namespace

std::span<const Target> exercise2_targets() { return kTargets; }

int exercise2(const Exercise2Options& options) {
  if (options.count == 0) throw LabError("--count must be at least 1", kExitUsage);
  const std::uint32_t seed = options.seed ? *options.seed : std::random_device{}();
  if (!options.seed) std::cerr << "shm-lab: exercise2: seed " << seed << " (--seed " << seed << " repeats this run)\n";
  const std::vector<int> numbers = random_numbers(seed, options.count);

  auto client = connect(options.task.socket);
  auto arr = make_array<int>(client, options.task, "exercise2", std::span<const int>(numbers));
  const SegmentRef ref{options.task.socket, std::string(arr.segment().name())};

  const std::size_t half = numbers.size() / 2;
  std::array processes{
      Process("process 1", kSquare, ref, {"0", std::to_string(half)}),
      Process("process 2", kSquare, ref, {std::to_string(half), std::to_string(numbers.size())}),
  };
  for (auto& p : processes) p.start();
  for (auto& p : processes) p.join();

  std::cout << shm::to_python<int>(std::span<const int>(numbers)) << '\n';
  std::cout << shm::to_python<int>(arr.span()) << '\n';
  return report_failures(processes) ? 0 : kExitFailure;
}

}  // namespace shm::lab
