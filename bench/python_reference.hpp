#pragma once
/// Runs one of the Python reference scripts in bench/python/.

#include <string>
#include <vector>

#include "bench_config.hpp"

namespace shm::bench {

/// Runs `python3 bench/python/<script> ARGS...`, which prints one number: its cost per
/// operation in nanoseconds. Throws std::runtime_error if it fails or prints something else.
double run_python_reference(const BenchConfig& config, const std::string& script, const std::vector<std::string>& args);

/// Runs `python3 bench/python/<script> ARGS...`, which prints `count` numbers separated by spaces
/// (nan allowed). Throws std::runtime_error if it fails or prints something else.
std::vector<double> run_python_costs(const BenchConfig& config, const std::string& script,
                                     const std::vector<std::string>& args, std::size_t count);

}  // namespace shm::bench
