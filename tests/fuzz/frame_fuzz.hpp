#pragma once
/// The body of the frame-decoder fuzz target (shmd-frame-fuzz), shared with the corpus replay.

#include <cstddef>
#include <cstdint>

/// Feeds `data[2..]` to a shm::wire::FrameDecoder in chunks picked by `data[1]`, with a frame
/// limit picked by `data[0]`, and compares every frame and the final error with a reference
/// decoder. Aborts on a difference. Always returns 0.
int shm_frame_fuzz_one(const std::uint8_t* data, std::size_t size);
