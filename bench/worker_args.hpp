#pragma once
/// Parsing of worker arguments.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "worker_modes.hpp"

namespace shm::bench {

/// Argument `i` as an unsigned number; throws std::invalid_argument if missing or malformed.
inline std::uint64_t arg_number(const WorkerArgs& args, std::size_t i) {
  if (i >= args.size()) throw std::invalid_argument("missing worker argument " + std::to_string(i));
  return std::stoull(args[i]);
}

/// Argument `i` as a string; throws std::invalid_argument if missing.
inline const std::string& arg_string(const WorkerArgs& args, std::size_t i) {
  if (i >= args.size()) throw std::invalid_argument("missing worker argument " + std::to_string(i));
  return args[i];
}

}  // namespace shm::bench
