// libFuzzer entry point of one target (built with SHMD_FUZZ=ON, the fuzz preset):
// SHMD_FUZZ_BODY names the target's body, e.g. shm_frame_fuzz_one for shmd-frame-fuzz.

#include <cstddef>
#include <cstdint>

#include "fuzz_targets.hpp"

/// Called by libFuzzer once per generated input.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return SHMD_FUZZ_BODY(data, size); }
