#include "shmd/protocol.hpp"

#include "shm/segment_layout.hpp"

namespace shmd {

namespace pb = shmd::v1;
using shm::Errc;

pb::ErrorCode to_wire(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return pb::INVALID_ARGUMENT;
    case Errc::not_found: return pb::NOT_FOUND;
    case Errc::already_exists: return pb::ALREADY_EXISTS;
    case Errc::permission_denied: return pb::PERMISSION_DENIED;
    case Errc::limit_exceeded: return pb::LIMIT_EXCEEDED;
    case Errc::protocol_error: return pb::PROTOCOL_ERROR;
    case Errc::version_mismatch: return pb::VERSION_MISMATCH;
    case Errc::type_mismatch: return pb::TYPE_MISMATCH;
    case Errc::not_attached: return pb::NOT_ATTACHED;
    default: return pb::INTERNAL;
  }
}

pb::Kind to_wire(shm::Kind kind) noexcept { return kind == shm::Kind::array ? pb::ARRAY : pb::VALUE; }

std::optional<shm::Kind> kind_from_wire(std::uint32_t number) noexcept {
  if (number == static_cast<std::uint32_t>(pb::VALUE)) return shm::Kind::value;
  if (number == static_cast<std::uint32_t>(pb::ARRAY)) return shm::Kind::array;
  return std::nullopt;
}

shm::AccessMode access_from_wire(const pb::AttachRequest& attach) noexcept {
  return attach.read_only() ? shm::AccessMode::read_only : shm::AccessMode::read_write;
}

void to_wire(const SegmentRecord& r, pb::SegmentInfo& out) {
  out.set_id(r.id);
  out.set_name(r.name);
  out.set_typecode(std::string(1, r.typecode));
  out.set_kind(to_wire(r.kind));
  out.set_length(r.length);
  out.set_element_size(r.element_size);
  out.set_data_offset(r.sizes.data_offset);
  out.set_size_bytes(r.sizes.data_bytes);
  out.set_mapping_bytes(r.sizes.mapping_bytes);
  out.set_refcount(r.refcount);
  out.set_uid(r.creator.uid);
  out.set_gid(r.creator.gid);
  out.set_creator_pid(r.creator.pid);
  out.set_mode(r.mode);
  out.set_ephemeral(r.ephemeral);
  out.set_created_unix_ns(r.created_unix_ns);
  out.set_removed(r.removed);
  out.set_holds(r.holds);
}

void set_error(pb::Response& response, Errc code, std::string message) {
  response.clear_body();
  auto* error = response.mutable_error();
  error->set_code(to_wire(code));
  error->set_message(std::move(message));
}

shm::Result<CreateParams> create_params_from_wire(const pb::CreateRequest& c) {
  if (c.typecode().size() != 1)
    return shm::fail(Errc::invalid_argument, "typecode must be one character of c b B u h H i I l L q Q f d");
  const auto kind = kind_from_wire(static_cast<std::uint32_t>(c.kind()));
  if (!kind) return shm::fail(Errc::invalid_argument, "kind must be VALUE or ARRAY");
  CreateParams params;
  params.name = c.name();
  params.typecode = c.typecode()[0];
  params.kind = *kind;
  params.length = c.length();
  params.mode = c.mode() == 0 ? 0600 : c.mode();
  params.ephemeral = c.ephemeral();
  params.initial = c.initial();
  params.open_existing = c.open_existing();
  return params;
}

shmd::journal::v1::SegmentMeta to_journal(const SegmentRecord& r) {
  shmd::journal::v1::SegmentMeta m;
  m.set_id(r.id);
  m.set_name(r.name);
  m.set_typecode(static_cast<unsigned char>(r.typecode));
  m.set_kind(static_cast<std::uint32_t>(to_wire(r.kind)));
  m.set_length(r.length);
  m.set_uid(r.creator.uid);
  m.set_gid(r.creator.gid);
  m.set_creator_pid(r.creator.pid);
  m.set_mode(r.mode);
  m.set_ephemeral(r.ephemeral);
  m.set_created_unix_ns(r.created_unix_ns);
  m.set_removed(r.removed);
  m.set_layout_version(shm::kLayoutVersion);
  m.set_references(r.restorable_references());  // holds end with a restart
  return m;
}

}  // namespace shmd
