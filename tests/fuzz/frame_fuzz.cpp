// The frame decoder alone: the input is a byte stream fed in chunks whose sizes the input also
// picks, checked against a plain reference decoder written from proto/README.md ("Framing").

#include "frame_fuzz.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "shm/wire/framing.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "shm_frame_fuzz_one: invariant broken: %s\n", what);
  std::abort();
}

/// What a whole stream decodes to: its frames, the bytes left over, and whether it is broken.
struct Expected {
  std::vector<std::string> frames;
  std::size_t left = 0;
  shm::wire::FrameError error = shm::wire::FrameError::none;
};

/// The reference: a varint of at most 10 bytes whose value fits 64 bits, then that many bytes,
/// refused above `max_frame`.
Expected reference_decode(std::string_view s, std::size_t max_frame) {
  Expected e;
  std::size_t pos = 0;
  for (;;) {
    std::uint64_t length = 0;
    bool over_64_bits = false;  // a 10th byte above 1 spells 2^64 or more
    std::size_t prefix = 0;
    bool complete = false;
    while (pos + prefix < s.size() && prefix < shm::wire::kMaxVarintBytes) {
      const auto byte = static_cast<std::uint8_t>(s[pos + prefix]);
      if (prefix == shm::wire::kMaxVarintBytes - 1 && (byte & 0x7f) > 1)
        over_64_bits = true;
      else
        length |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * prefix);
      ++prefix;
      if ((byte & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (prefix == shm::wire::kMaxVarintBytes) e.error = shm::wire::FrameError::varint_too_long;
      e.left = s.size() - pos;
      return e;
    }
    if (over_64_bits || length > max_frame) {
      e.error = shm::wire::FrameError::frame_too_large;
      e.left = s.size() - pos;
      return e;
    }
    const auto n = static_cast<std::size_t>(length);
    if (s.size() - pos - prefix < n) {
      e.left = s.size() - pos;
      return e;
    }
    e.frames.emplace_back(s.substr(pos + prefix, n));
    pos += prefix + n;
  }
}

}  // namespace

int shm_frame_fuzz_one(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0 picks the frame limit (small ones reach frame_too_large cheaply), byte 1 the chunking.
  const std::size_t max_frame = data[0] == 0 ? shm::wire::kMaxFrameBytes : std::size_t{data[0]} * 8;
  std::uint32_t rng = data[1] * 2654435761u + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Expected want = reference_decode(stream, max_frame);

  shm::wire::FrameDecoder decoder(max_frame);
  std::vector<std::string> got;
  std::string payload;
  std::size_t fed = 0;
  std::size_t taken = 0;  // prefix and payload bytes handed out so far
  while (fed < stream.size()) {
    rng = rng * 1103515245u + 12345u;
    const std::size_t chunk = std::min<std::size_t>((rng >> 16) % 40, stream.size() - fed);  // 0 too
    decoder.feed(stream.substr(fed, chunk));
    fed += chunk;
    while (decoder.next(payload)) {
      if (payload.size() > max_frame) broken("a frame over the limit");
      got.push_back(payload);
      taken += payload.size() + 1;  // at least one prefix byte
      if (taken > fed) broken("more bytes handed out than fed");
    }
    if (decoder.error() != shm::wire::FrameError::none) {
      // Sticky: more bytes change nothing.
      decoder.feed("\x00\x00");
      if (decoder.next(payload)) broken("a frame after a stream error");
      break;
    }
  }
  if (decoder.error() != want.error) broken("the stream error differs from the reference decoder's");
  if (got != want.frames) broken("the frames differ from the reference decoder's");
  if (want.error == shm::wire::FrameError::none && decoder.buffered() != want.left)
    broken("bytes left buffered differ from the reference decoder's");
  // What went in must come out again: re-framing the frames gives a stream that decodes the same.
  std::string again;
  for (const auto& f : got) shm::wire::append_frame(again, f);
  shm::wire::FrameDecoder second(max_frame);
  second.feed(again);
  for (const auto& f : got) {
    if (!second.next(payload) || payload != f) broken("append_frame output does not decode to its payload");
  }
  if (second.next(payload) || second.buffered() != 0) broken("append_frame output has bytes to spare");
  return 0;
}
