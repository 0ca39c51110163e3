#pragma once
/// The layout of a segment's memfd: a 64-byte-aligned header, then the elements.
///
///   offset 0              SegmentHeader (magic, version, typecode, sizes, robust mutex)
///   offset data_offset    length * element_size bytes of elements (data_offset = 128, 64-aligned)
///
/// The daemon writes the header once, before any client sees the fd. Clients may scribble on it,
/// so nobody trusts it for sizes: the daemon's reply is authoritative and clients only check that
/// the header agrees with it.

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace shm {

/// "SHMDSEG\0" as a little-endian 64-bit number.
inline constexpr std::uint64_t kSegmentMagic = 0x0047455344'4d4853ULL;
/// Bumped whenever the header layout changes.
inline constexpr std::uint32_t kLayoutVersion = 1;
/// Alignment of the header and of the data that follows it (one cache line).
inline constexpr std::size_t kSegmentAlignment = 64;

/// The header at offset 0 of every segment.
struct alignas(kSegmentAlignment) SegmentHeader {
  std::uint64_t magic;           ///< kSegmentMagic
  std::uint32_t layout_version;  ///< kLayoutVersion
  char typecode;                 ///< one of the typecodes in typecode.hpp
  std::uint8_t kind;             ///< 1 = Value, 2 = Array (as in the protocol)
  std::uint16_t reserved0;       ///< zero
  std::uint32_t element_size;    ///< bytes per element
  std::uint32_t reserved1;       ///< zero
  std::uint64_t length;          ///< number of elements
  std::uint64_t data_offset;     ///< offset of element 0 from the start of the segment
  pthread_mutex_t mutex;         ///< process-shared, robust, recursive
};

static_assert(sizeof(pthread_mutex_t) == 40, "glibc x86-64 mutex size");
static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, typecode) == 12);
static_assert(offsetof(SegmentHeader, length) == 24);
static_assert(offsetof(SegmentHeader, data_offset) == 32);
static_assert(offsetof(SegmentHeader, mutex) == 40);
static_assert(sizeof(SegmentHeader) == 128 && alignof(SegmentHeader) == kSegmentAlignment);

/// Offset of the first element: the header rounded up to the alignment.
inline constexpr std::size_t kDataOffset =
    (sizeof(SegmentHeader) + kSegmentAlignment - 1) / kSegmentAlignment * kSegmentAlignment;

/// Sizes of one segment, computed without overflow.
struct SegmentSizes {
  std::uint64_t data_bytes;     ///< length * element_size
  std::uint64_t mapping_bytes;  ///< kDataOffset + data_bytes (the memfd's size)
};

/// The sizes for `length` elements of `element_size` bytes, or nullopt if they overflow 64 bits.
constexpr std::optional<SegmentSizes> segment_sizes(std::uint64_t element_size,
                                                    std::uint64_t length) noexcept {
  if (element_size == 0) return std::nullopt;
  if (length > (UINT64_MAX - kDataOffset) / element_size) return std::nullopt;
  const std::uint64_t data = element_size * length;
  return SegmentSizes{data, kDataOffset + data};
}

}  // namespace shm
