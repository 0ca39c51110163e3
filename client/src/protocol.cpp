#include "protocol.hpp"

#include <chrono>
#include <string>

namespace shm::detail {

namespace pb = shmd::v1;

Errc from_wire(pb::ErrorCode code) noexcept {
  switch (code) {
    case pb::INVALID_ARGUMENT: return Errc::invalid_argument;
    case pb::NOT_FOUND: return Errc::not_found;
    case pb::ALREADY_EXISTS: return Errc::already_exists;
    case pb::PERMISSION_DENIED: return Errc::permission_denied;
    case pb::LIMIT_EXCEEDED: return Errc::limit_exceeded;
    case pb::PROTOCOL_ERROR: return Errc::protocol_error;
    case pb::VERSION_MISMATCH: return Errc::version_mismatch;
    case pb::TYPE_MISMATCH: return Errc::type_mismatch;
    case pb::NOT_ATTACHED: return Errc::not_attached;
    default: return Errc::internal;
  }
}

pb::Kind to_wire(Kind kind) noexcept { return kind == Kind::array ? pb::ARRAY : pb::VALUE; }

Kind from_wire(pb::Kind kind) noexcept { return kind == pb::ARRAY ? Kind::array : Kind::value; }

SegmentInfo from_wire(const pb::SegmentInfo& s) {
  SegmentInfo info;
  info.id = s.id();
  info.name = s.name();
  info.typecode = s.typecode().empty() ? '\0' : s.typecode()[0];
  info.kind = from_wire(s.kind());
  info.length = s.length();
  info.element_size = s.element_size();
  info.data_offset = s.data_offset();
  info.size_bytes = s.size_bytes();
  info.mapping_bytes = s.mapping_bytes();
  info.refcount = s.refcount();
  info.uid = s.uid();
  info.gid = s.gid();
  info.creator_pid = s.creator_pid();
  info.mode = s.mode();
  info.ephemeral = s.ephemeral();
  info.removed = s.removed();
  info.holds = s.holds();
  info.created = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(s.created_unix_ns())));
  return info;
}

void to_wire(std::string_view name, AccessMode mode, std::uint64_t token, pb::AttachRequest& out) {
  out.set_name(std::string(name));
  out.set_read_only(mode == AccessMode::read_only);
  out.set_claim(token);
}

void to_wire(std::string_view name, const SegmentSpec& spec, pb::CreateRequest& c) {
  c.set_name(std::string(name));
  c.set_typecode(std::string(1, spec.typecode));
  c.set_kind(to_wire(spec.kind));
  c.set_length(spec.length);
  c.set_mode(spec.options.mode);
  c.set_ephemeral(spec.options.ephemeral);
  c.set_open_existing(spec.options.open_existing);
  c.set_initial(reinterpret_cast<const char*>(spec.initial.data()), spec.initial.size());
}

}  // namespace shm::detail
