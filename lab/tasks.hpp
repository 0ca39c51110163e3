#pragma once
/// The lab sheet's tasks: each one's parent program and the targets its children run.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "target.hpp"
#include "task_support.hpp"

namespace shm::lab {

/// Example#1: a child stores 2.678 in a shared Value 'd'; prints it. Returns the exit status.
int example1(const TaskOptions& options);
/// Example#1's child targets.
std::span<const Target> example1_targets();

/// Example#2: a child squares a shared Array 'i' of range(10) in place; prints it.
int example2(const TaskOptions& options);
/// Example#2's child targets.
std::span<const Target> example2_targets();

/// Exercise 1's options.
struct Exercise1Options {
  TaskOptions task;                 ///< --socket, --name
  std::size_t iterations = 1000;    ///< updates per worker
  std::optional<int> crash_worker;  ///< worker (1-5) to kill mid-way while it holds the lock
};
/// The most --iterations for which the total still fits the Value's type.
std::size_t exercise1_max_iterations();
/// Exercise 1: five workers with their own targets add to one Value under its lock.
int exercise1(const Exercise1Options& options);
/// Exercise 1's child targets.
std::span<const Target> exercise1_targets();

/// Exercise 2's options.
struct Exercise2Options {
  TaskOptions task;                   ///< --socket, --name
  std::optional<std::uint32_t> seed;  ///< seed for the numbers; random if absent
  std::size_t count = 10;             ///< how many numbers
};
/// Exercise 2: two processes square the two halves of random numbers in a shared Array.
int exercise2(const Exercise2Options& options);
/// Exercise 2's child targets.
std::span<const Target> exercise2_targets();

}  // namespace shm::lab
