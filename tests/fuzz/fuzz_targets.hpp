#pragma once
/// Every fuzz target's body by name, for the corpus replay (one libFuzzer binary per target).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "client_fuzz.hpp"
#include "dispatch_fuzz.hpp"
#include "frame_fuzz.hpp"
#include "journal_fuzz.hpp"

/// A fuzz target: its name (as in shmd-NAME-fuzz and tests/fuzz/corpus-NAME) and its body.
struct FuzzTarget {
  std::string_view name;                                    ///< dispatch, frame, client or journal
  int (*body)(const std::uint8_t* data, std::size_t size);  ///< runs one input; aborts on a finding
};

/// The targets, in the order scripts/fuzz runs them.
inline constexpr FuzzTarget kFuzzTargets[] = {
    {"frame", shm_frame_fuzz_one},
    {"dispatch", shmd_fuzz_one},
    {"client", shm_client_fuzz_one},
    {"journal", shm_journal_fuzz_one},
};
