#pragma once
/// The client's side of the wire: every conversion between shmd.v1 messages and libshmclient's
/// public types lives here, as Plasma keeps it in one protocol file per side.

#include <cstdint>
#include <string_view>

#include "shm/client.hpp"
#include "shm/error.hpp"
#include "shm/kind.hpp"
#include "shm/segment_info.hpp"
#include "shmd.pb.h"

namespace shm::detail {

/// The shm::Errc for a wire error code (the one place this mapping lives on the client side).
Errc from_wire(shmd::v1::ErrorCode code) noexcept;
/// The wire kind of `kind`.
shmd::v1::Kind to_wire(Kind kind) noexcept;
/// The Kind of a wire kind (anything but ARRAY reads as a Value; the header check catches a lie).
Kind from_wire(shmd::v1::Kind kind) noexcept;
/// What the daemon says about one segment.
SegmentInfo from_wire(const shmd::v1::SegmentInfo& info);
/// Fills `out` to attach `name` with `mode`, claiming the hold `token` names (0: none).
void to_wire(std::string_view name, AccessMode mode, std::uint64_t token, shmd::v1::AttachRequest& out);
/// Fills `out` to create `name` as `spec` says (create() and create_detached() share it).
void to_wire(std::string_view name, const SegmentSpec& spec, shmd::v1::CreateRequest& out);

}  // namespace shm::detail
