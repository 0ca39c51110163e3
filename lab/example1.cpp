// Example#1 of the lab sheet, with a shmd segment in place of multiprocessing's shared memory:
//
//   def sharedM(v):
//       v.value = 2.678
//   v = multiprocessing.Value('d', 0.0)
//   p1 = multiprocessing.Process(target=sharedM, args=(v,))
//   p1.start(); p1.join()
//   print(v.value)
#include <array>
#include <iostream>

#include "process.hpp"
#include "shm/format.hpp"
#include "tasks.hpp"

namespace shm::lab {
namespace {

/// The sheet's target function.
void sharedM(shm::Value<double>& v) { v = 2.678; }  // NOLINT(readability-identifier-naming): the sheet's name

/// The child's main: it was handed only the segment's name, so it attaches by name.
int sharedM_child(const ChildArgs& args) {  // NOLINT(readability-identifier-naming)
  auto client = connect(args.segment.socket);
  auto v = attach_value<double>(client, args.segment);
  sharedM(v);
  return 0;
}

constexpr Target kSharedM{"example1.sharedM", &sharedM_child};
constexpr std::array kTargets{kSharedM};

}  // namespace

std::span<const Target> example1_targets() { return kTargets; }

int example1(const TaskOptions& options) {
  auto client = connect(options.socket);
  auto v = make_value<double>(client, options, "example1", 0.0);

  Process p1("p1", kSharedM, {options.socket, std::string(v.segment().name())});
  p1.start();
  p1.join();

  std::cout << shm::to_python(v.load()) << '\n';
  return report_failures({&p1, 1}) ? 0 : kExitFailure;
}

}  // namespace shm::lab
