#pragma once
/// Target: a function a spawned child runs, and the arguments it receives on its command line.

#include <string>
#include <string_view>
#include <vector>

namespace shm::lab {

/// Where a child finds its shared data again: the daemon's socket and the segment's name.
/// This is all a child is given, like the pickled arguments of multiprocessing's spawn.
struct SegmentRef {
  std::string socket;  ///< shmd's socket path
  std::string name;    ///< the segment's name
};

/// What a spawned child receives on its command line.
struct ChildArgs {
  std::string process;            ///< the process's name, for messages ("worker 3")
  SegmentRef segment;             ///< the shared segment to attach to
  std::vector<std::string> args;  ///< the target's own arguments
};

/// A function a child process can run. Children find it by name in a table, which is what
/// pickling a function by its qualified name amounts to in Python's spawn.
struct Target {
  std::string_view name;         ///< unique name, e.g. "example1.sharedM"
  int (*run)(const ChildArgs&);  ///< the child's main: attach, do the work, return an exit status
};

}  // namespace shm::lab
