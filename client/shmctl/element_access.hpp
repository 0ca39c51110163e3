#pragma once
/// Copying elements between a segment and a local buffer, the way a libshmclient program would.

#include <cstddef>
#include <span>
#include <vector>

#include "shm/segment.hpp"

namespace shmctl {

/// Copies every element out of `segment`, each with an atomic load, so a program updating a Value
/// lock-free never shows shmctl a torn value. Takes no lock (a read-only attachment cannot): the
/// caller holds it when the elements must be consistent with each other. Throws shm::Error.
std::vector<std::byte> read_elements(const shm::Segment& segment);

/// Writes `data` (whole elements) into `segment` starting at element `first`, holding its lock and
/// storing each element atomically. The caller checks the bounds. Throws shm::Error.
void write_elements(shm::Segment& segment, std::size_t first, std::span<const std::byte> data, bool& owner_died);

}  // namespace shmctl
