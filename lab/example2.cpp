// Example#2 of the lab sheet, with a shmd segment in place of multiprocessing's shared memory:
//
//   def sharedM(a):
//       for i in range(10):
//           a[i] = a[i]*a[i]
//   arr = multiprocessing.Array('i', range(10))
//   p = multiprocessing.Process(target=sharedM, args=(arr,))
//   p.start(); p.join()
//   print(arr[:])
#include <array>
#include <iostream>
#include <numeric>

#include "process.hpp"
#include "shm/format.hpp"
#include "tasks.hpp"

namespace shm::lab {
namespace {

/// The sheet's target function.
void sharedM(shm::Array<int>& a) {  // NOLINT(readability-identifier-naming): the sheet's name
  for (auto& x : a) x = x * x;
}

/// The child's main: it was handed only the segment's name, so it attaches by name.
int sharedM_child(const ChildArgs& args) {  // NOLINT(readability-identifier-naming)
  auto client = connect(args.segment.socket);
  auto a = attach_array<int>(client, args.segment);
  sharedM(a);
  return 0;
}

constexpr Target kSharedM{"example2.sharedM", &sharedM_child};
constexpr std::array kTargets{kSharedM};

}  // namespace

std::span<const Target> example2_targets() { return kTargets; }

int example2(const TaskOptions& options) {
  auto client = connect(options.socket);
  std::array<int, 10> range10{};
  std::iota(range10.begin(), range10.end(), 0);
  auto arr = make_array<int>(client, options, "example2", range10);

  Process p("p", kSharedM, {options.socket, std::string(arr.segment().name())});
  p.start();
  p.join();

  std::cout << shm::to_python<int>(arr.span()) << '\n';
  return report_failures({&p, 1}) ? 0 : kExitFailure;
}

}  // namespace shm::lab
