#pragma once
/// Length-delimited framing: a base-128 varint byte count, then that many payload bytes.
/// This is protobuf's standard delimited form (`SerializeDelimitedToZeroCopyStream`,
/// Java's `writeDelimitedTo`). Knows nothing of sockets or of protobuf.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shm::wire {

/// Largest payload either side accepts in one frame.
inline constexpr std::size_t kMaxFrameBytes = std::size_t{64} * 1024;
/// Longest varint prefix a frame may have (enough for any 64-bit length, which will be refused).
inline constexpr std::size_t kMaxVarintBytes = 10;

/// Appends `value` as a base-128 varint to `out`.
void append_varint(std::string& out, std::uint64_t value);

/// Appends one frame (prefix and payload) to `out`.
void append_frame(std::string& out, std::string_view payload);

/// Why a byte stream is not a valid frame sequence.
enum class FrameError {
  none,
  varint_too_long,  ///< the length prefix runs past 10 bytes
  frame_too_large,  ///< the announced length exceeds kMaxFrameBytes
};

/// Splits an incoming byte stream into frames. Feed it bytes as they arrive; take frames out.
class FrameDecoder {
 public:
  /// Creates a decoder that refuses frames longer than `max_frame` bytes.
  explicit FrameDecoder(std::size_t max_frame = kMaxFrameBytes) noexcept : max_frame_(max_frame) {}

  /// Appends received bytes.
  void feed(std::span<const std::byte> bytes);
  /// Appends received bytes.
  void feed(std::string_view bytes);

  /// Moves the next complete frame's payload into `payload` and returns true; false if more
  /// bytes are needed or the stream is broken (then `error()` says why, for good).
  bool next(std::string& payload);

  /// The reason the stream is broken, or FrameError::none.
  [[nodiscard]] FrameError error() const noexcept { return error_; }
  /// Bytes received but not yet returned as frames.
  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

 private:
  std::size_t max_frame_;                ///< the largest payload accepted
  std::string buffer_;                   ///< bytes received and not yet discarded
  std::size_t consumed_ = 0;             ///< prefix of buffer_ already returned
  FrameError error_ = FrameError::none;  ///< sticky stream error
};

/// A readable description of a FrameError.
std::string_view to_string(FrameError e) noexcept;

}  // namespace shm::wire
