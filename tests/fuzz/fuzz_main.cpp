// libFuzzer entry point for the frame decoder and request dispatch (built with SHMD_FUZZ=ON).

#include <cstddef>
#include <cstdint>

#include "dispatch_fuzz.hpp"

/// Called by libFuzzer once per generated input.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return shmd_fuzz_one(data, size); }
