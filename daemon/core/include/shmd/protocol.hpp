#pragma once
/// The daemon's side of the wire: every conversion between shmd.v1 (and the journal's) messages and
/// the daemon's own types lives here, as Plasma keeps it in one protocol file per side. Nothing
/// here sees a socket or the registry.

#include <cstdint>
#include <optional>
#include <string>

#include "shm/access_mode.hpp"
#include "shm/error.hpp"
#include "shm/kind.hpp"
#include "shm/result.hpp"
#include "shmd.pb.h"
#include "shmd/registry.hpp"
#include "shmd/segment_record.hpp"
#include "shmd_journal.pb.h"

namespace shmd {

/// The wire code for an shm::Errc (the one place this mapping lives on the daemon side).
shmd::v1::ErrorCode to_wire(shm::Errc code) noexcept;
/// The wire kind of `kind`.
shmd::v1::Kind to_wire(shm::Kind kind) noexcept;
/// The Kind numbered `number` on the wire or in the journal, or nothing for any other number.
std::optional<shm::Kind> kind_from_wire(std::uint32_t number) noexcept;
/// The access an Attach asks for.
shm::AccessMode access_from_wire(const shmd::v1::AttachRequest& attach) noexcept;
/// Fills `out` with what a reply says about `record`.
void to_wire(const SegmentRecord& record, shmd::v1::SegmentInfo& out);
/// Makes `response` an error reply: `code` and `message`, and no body.
void set_error(shmd::v1::Response& response, shm::Errc code, std::string message);
/// The registry's CreateParams for `create` (whose strings it points into), or why they are not
/// valid: a typecode that is not one character, a kind that is neither VALUE nor ARRAY.
shm::Result<CreateParams> create_params_from_wire(const shmd::v1::CreateRequest& create);
/// The journal's record of `record`'s metadata and restorable references.
shmd::journal::v1::SegmentMeta to_journal(const SegmentRecord& record);

}  // namespace shmd
