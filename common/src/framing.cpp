#include "shm/wire/framing.hpp"

namespace shm::wire {

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_frame(std::string& out, std::string_view payload) {
  append_varint(out, payload.size());
  out.append(payload);
}

void FrameDecoder::feed(std::span<const std::byte> bytes) {
  feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void FrameDecoder::feed(std::string_view bytes) {
  if (error_ != FrameError::none) return;
  // Drop what was handed out already before growing, so the buffer stays one frame large.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

bool FrameDecoder::next(std::string& payload) {
  if (error_ != FrameError::none) return false;
  const std::size_t avail = buffer_.size() - consumed_;
  std::uint64_t length = 0;
  std::size_t prefix = 0;
  for (;;) {
    if (prefix == kMaxVarintBytes) {
      error_ = FrameError::varint_too_long;
      return false;
    }
    if (prefix == avail) return false;  // prefix incomplete
    const auto byte = static_cast<std::uint8_t>(buffer_[consumed_ + prefix]);
    // A last (10th) byte holds bit 63 only; more would wrap a huge length round to a small one.
    if (prefix == kMaxVarintBytes - 1 && byte > 1 && (byte & 0x80) == 0) {
      error_ = FrameError::frame_too_large;
      return false;
    }
    length |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * prefix);
    ++prefix;
    if ((byte & 0x80) == 0) break;
  }
  if (length > max_frame_) {
    error_ = FrameError::frame_too_large;
    return false;
  }
  if (avail - prefix < length) return false;
  payload.assign(buffer_, consumed_ + prefix, static_cast<std::size_t>(length));
  consumed_ += prefix + static_cast<std::size_t>(length);
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return true;
}

std::string_view to_string(FrameError e) noexcept {
  switch (e) {
    case FrameError::none: return "no error";
    case FrameError::varint_too_long: return "frame length prefix is longer than 10 bytes";
    case FrameError::frame_too_large: return "frame exceeds the 64 KiB limit";
  }
  return "unknown frame error";
}

}  // namespace shm::wire
