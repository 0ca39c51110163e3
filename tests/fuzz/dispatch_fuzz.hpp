#pragma once
/// The body of the frame-decoder + request-dispatch fuzz target, shared by the libFuzzer entry
/// point and the corpus replay test.

#include <cstddef>
#include <cstdint>

/// Feeds `data` to a FrameDecoder and every decoded frame, parsed as a shmd.v1.Request, to a
/// RequestHandler over a fresh, small Registry, the way a Session would. Aborts if an invariant
/// breaks (a reply too big for a frame, an fd with a reply that hands over no segment, a
/// connection's references left behind after every client has gone, anything left once every
/// hold has expired). Always returns 0, as libFuzzer wants.
int shmd_fuzz_one(const std::uint8_t* data, std::size_t size);
