#pragma once
/// The layout of a segment's memfd: a 128-byte header, then an Array's elements.
///
///   offset 0     magic, version, typecode, kind, sizes          (cache line 0 ...
///   offset 40    the change word, then the daemon's flags       ... read-mostly)
///   offset 64    a Value's element (at most 8 bytes)            (cache line 1 ...
///   offset 72    the robust mutex                               ... shared with the Value)
///   offset 128   an Array's elements, 64-aligned                (data_offset = 128)
///
/// A Value's element sits in the mutex's cache line: a locked update touches one line, not two.
/// The change word (shm/change_word.hpp; proto/README.md has its protocol) is in the other line,
/// which nobody writes unless somebody waits: the look that every notify takes then hits in the
/// notifier's own cache even while other CPUs fight over line 1. (Layout 3 had the word at 112,
/// in line 1; every contended update then fetched the line twice: docs/performance.md.)
/// The daemon writes the header once, before any client sees the fd. Clients may scribble on it,
/// so nobody trusts it for sizes: the daemon's reply is authoritative and clients only check that
/// the header agrees with it.

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "shm/kind.hpp"

namespace shm {

/// "SHMDSEG\0" as a little-endian 64-bit number.
inline constexpr std::uint64_t kSegmentMagic = 0x0047455344'4d4853ULL;
/// Bumped whenever the header layout changes. (1 had the mutex at 40 and every element at 128;
/// 2 had no change word; 3 had it, and the flags, at 112. Layouts 2 and 3 differ from 4 only in
/// where those two words are, which is why a daemon of layout 4 upgrades the segments of layouts 2
/// and 3 it restores in place: see FdStore.)
inline constexpr std::uint32_t kLayoutVersion = 4;
/// The oldest layout a restored segment may have and be upgraded from (to kLayoutVersion).
inline constexpr std::uint32_t kOldestUpgradableLayout = 2;
/// True for the layouts a restored segment is upgraded from in place.
constexpr bool upgradable_layout(std::uint32_t layout) noexcept {
  return layout >= kOldestUpgradableLayout && layout < kLayoutVersion;
}
/// SegmentHeader::flags bit: the segment was removed (set by the daemon only).
inline constexpr std::uint32_t kSegmentRemoved = 1;
/// The layout a Hello or a journal entry names; they carry none (0) from before layout 2.
constexpr std::uint32_t named_layout(std::uint32_t field) noexcept { return field == 0 ? 1 : field; }
/// Alignment of the header and of the data that follows it (one cache line).
inline constexpr std::size_t kSegmentAlignment = 64;

/// The header at offset 0 of every segment. Its byte arrays are C arrays, as the byte table in
/// proto/README.md has them (the layout is the protocol; std::array would say nothing more).
// NOLINTBEGIN(modernize-avoid-c-arrays)
struct alignas(kSegmentAlignment) SegmentHeader {
  std::uint64_t magic;           ///< kSegmentMagic
  std::uint32_t layout_version;  ///< kLayoutVersion
  char typecode;                 ///< one of the typecodes in typecode.hpp
  Kind kind;                     ///< Value or Array (one byte, numbered as in the protocol)
  std::uint16_t reserved0;       ///< zero
  std::uint32_t element_size;    ///< bytes per element
  std::uint32_t reserved1;       ///< zero
  std::uint64_t length;          ///< number of elements
  std::uint64_t data_offset;     ///< offset of element 0 from the start of the segment
  std::uint32_t changes;         ///< the change word: bit 0 "watched", bits 1..31 a change count
  std::uint32_t flags;           ///< kSegmentRemoved; written by the daemon only
  std::byte reserved2[16];       ///< zero
  std::byte value[8];            ///< a Value's element; zero in an Array
  pthread_mutex_t mutex;         ///< process-shared, robust, recursive
  std::byte reserved3[16];       ///< zero (layout 3's change word and flags: see FdStore)
};
// NOLINTEND(modernize-avoid-c-arrays)

static_assert(sizeof(pthread_mutex_t) == 40, "glibc x86-64 mutex size");
static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, typecode) == 12);
static_assert(offsetof(SegmentHeader, kind) == 13 && sizeof(Kind) == 1);
static_assert(offsetof(SegmentHeader, length) == 24);
static_assert(offsetof(SegmentHeader, data_offset) == 32);
static_assert(offsetof(SegmentHeader, changes) == 40 && offsetof(SegmentHeader, flags) == 44, "line 0, read-mostly");
static_assert(offsetof(SegmentHeader, value) == 64);
static_assert(offsetof(SegmentHeader, mutex) == 72);
static_assert(offsetof(SegmentHeader, mutex) + sizeof(pthread_mutex_t) <= 128, "mutex and Value share line 1");
static_assert(sizeof(SegmentHeader) == 128 && alignof(SegmentHeader) == kSegmentAlignment);

/// Offset of a Value's element, inside the header next to the mutex.
inline constexpr std::size_t kValueDataOffset = offsetof(SegmentHeader, value);
/// Offset of an Array's first element: right after the header, 64-aligned.
inline constexpr std::size_t kArrayDataOffset = sizeof(SegmentHeader);

/// Sizes of one segment, computed without overflow.
struct SegmentSizes {
  std::uint64_t data_offset;    ///< where element 0 starts
  std::uint64_t data_bytes;     ///< length * element_size
  std::uint64_t mapping_bytes;  ///< the memfd's size: the header, plus an Array's elements
};

/// The sizes for `length` elements of `element_size` bytes of `kind`, or nullopt if they overflow
/// 64 bits, a Value is not one element that fits its slot, or `kind` is neither Value nor Array.
constexpr std::optional<SegmentSizes> segment_sizes(std::uint64_t element_size, std::uint64_t length,
                                                    Kind kind) noexcept {
  if (element_size == 0) return std::nullopt;
  if (kind == Kind::value) {
    if (length != 1 || element_size > sizeof(SegmentHeader::value)) return std::nullopt;
    return SegmentSizes{kValueDataOffset, element_size, sizeof(SegmentHeader)};
  }
  if (kind != Kind::array) return std::nullopt;
  if (length > (UINT64_MAX - kArrayDataOffset) / element_size) return std::nullopt;
  const std::uint64_t data = element_size * length;
  return SegmentSizes{kArrayDataOffset, data, kArrayDataOffset + data};
}

}  // namespace shm
