#include "shmd/request_handler.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shm/wire/framing.hpp"

namespace shmd {
namespace {

namespace pb = shmd::v1;
using shm::Errc;

/// List pages stay well under the frame limit, whatever the names.
constexpr std::size_t kListPageBudget = shm::wire::kMaxFrameBytes - 4096;

void set_error(Reply& reply, Errc code, std::string message) {
  reply.response.clear_body();
  auto* error = reply.response.mutable_error();
  error->set_code(to_wire(code));
  error->set_message(std::move(message));
}

void set_failure(Reply& reply, const Failure& f) { set_error(reply, f.code, f.message); }

std::string octal_mode(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

void fill_info(const SegmentRecord& r, pb::SegmentInfo& out) {
  out.set_id(r.id);
  out.set_name(r.name);
  out.set_typecode(std::string(1, r.typecode));
  out.set_kind(static_cast<pb::Kind>(r.kind));
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

// A writable attach lends the registry's memfd: no copy per attach. The session sends it before
// anything else runs, and copies it only if it must wait for the socket (see Session::send).
// A read-only attach gets the memfd reopened O_RDONLY: mmap(PROT_WRITE, MAP_SHARED) and
// mprotect(PROT_WRITE) of it then fail with EACCES, whatever the client tries.
bool attach_fd(Reply& reply, const SegmentRecord& r, Access access) {
  if (access == Access::write) {
    reply.lent_fd = &r.memfd;
    return true;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(r.memfd.get());
  reply.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (reply.fd) return true;
  set_error(reply, Errc::limit_exceeded, std::string("cannot pass the segment: ") + std::strerror(errno));
  return false;
}

// Who may not read a segment still sees it listed (as with ipcs), but not who made it or when.
void hide_private_fields(pb::SegmentInfo& info) {
  info.clear_creator_pid();
  info.clear_created_unix_ns();
}

}  // namespace

const RequestHandler::Route RequestHandler::kRoutes[] = {
    {pb::Request::kHello, &RequestHandler::on_hello},   {pb::Request::kCreate, &RequestHandler::on_create},
    {pb::Request::kAttach, &RequestHandler::on_attach}, {pb::Request::kDetach, &RequestHandler::on_detach},
    {pb::Request::kRemove, &RequestHandler::on_remove}, {pb::Request::kList, &RequestHandler::on_list},
    {pb::Request::kInfo, &RequestHandler::on_info},     {pb::Request::kReattach, &RequestHandler::on_reattach},
    {pb::Request::kChmod, &RequestHandler::on_chmod},   {pb::Request::kHold, &RequestHandler::on_hold},
};

RequestHandler::RequestHandler(Registry& registry, std::string server_version)
    : registry_(registry), server_version_(std::move(server_version)) {}

Reply RequestHandler::handle(const RequestContext& ctx, const pb::Request& request) {
  Reply reply;
  reply.response.set_request_id(request.request_id());
  for (const Route& route : kRoutes) {
    if (route.body == request.body_case()) {
      (this->*route.handler)(ctx, request, reply);
      return reply;
    }
  }
  set_error(reply, Errc::invalid_argument,
            request.body_case() == pb::Request::BODY_NOT_SET
                ? "request has no operation set (or one this daemon does not know)"
                : "unsupported operation " + std::to_string(request.body_case()));
  return reply;
}

Reply RequestHandler::protocol_error(std::string message) {
  Reply reply;
  set_error(reply, Errc::protocol_error, std::move(message));
  reply.close_connection = true;
  return reply;
}

void RequestHandler::on_hello(const RequestContext&, const pb::Request& req, Reply& reply) {
  if (req.hello().protocol_version() != kProtocolVersion) {
    set_error(reply, Errc::version_mismatch,
              "client speaks protocol version " + std::to_string(req.hello().protocol_version()) +
                  "; this daemon speaks " + std::to_string(kProtocolVersion));
    return;
  }
  auto* hello = reply.response.mutable_hello();
  hello->set_protocol_version(kProtocolVersion);
  hello->set_server_version(server_version_);
  hello->set_segment_layout(shm::kLayoutVersion);
}

void RequestHandler::on_create(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::CreateRequest& c = req.create();
  if (c.typecode().size() != 1) {
    set_error(reply, Errc::invalid_argument, "typecode must be one character of c b B u h H i I l L q Q f d");
    return;
  }
  if (c.kind() != pb::VALUE && c.kind() != pb::ARRAY) {
    set_error(reply, Errc::invalid_argument, "kind must be VALUE or ARRAY");
    return;
  }
  if (c.no_attach() && c.ephemeral()) {
    set_error(reply, Errc::invalid_argument, "an ephemeral segment without a reference would vanish at once: no_attach and ephemeral exclude each other");
    return;
  }
  CreateParams params;
  params.name = c.name();
  params.typecode = c.typecode()[0];
  params.kind = static_cast<SegmentKind>(c.kind());
  params.length = c.length();
  params.mode = c.mode() == 0 ? 0600 : c.mode();
  params.ephemeral = c.ephemeral();
  params.initial = c.initial();
  params.open_existing = c.open_existing();
  auto outcome = registry_.create(ctx.client, ctx.credentials, params);
  if (!outcome) return set_failure(reply, outcome.failure());
  if (c.no_attach()) {
    // Made (or found) as any create is, then let go: the segment is persistent, so it stays.
    auto* body = reply.response.mutable_create();
    fill_info(*outcome->segment, *body->mutable_segment());
    body->set_created(outcome->created);
    const auto left = registry_.detach(ctx.client, outcome->segment->id);
    body->mutable_segment()->set_refcount(left ? left.value() : 0);
    return;
  }
  if (!attach_fd(reply, *outcome->segment, Access::write)) {
    // The client never sees this reference: undo it, and undo the segment if we made it.
    const std::uint64_t id = outcome->segment->id;
    if (outcome->created) (void)registry_.remove(ctx.credentials, params.name);
    (void)registry_.detach(ctx.client, id);
    return;
  }
  auto* body = reply.response.mutable_create();
  fill_info(*outcome->segment, *body->mutable_segment());
  body->set_created(outcome->created);
}

void RequestHandler::on_attach(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::AttachRequest& a = req.attach();
  const Access access = a.read_only() ? Access::read : Access::write;
  auto outcome = registry_.claim(ctx.client, ctx.credentials, a.name(), access, a.claim());
  if (!outcome) return set_failure(reply, outcome.failure());
  // If the fd cannot be passed, a claimed hold's reference goes with the detach: the hold is spent,
  // as it would be by a receiver that claimed and then failed.
  if (!attach_fd(reply, *outcome->segment, access)) {
    (void)registry_.detach(ctx.client, outcome->segment->id);
    return;
  }
  auto* body = reply.response.mutable_attach();
  fill_info(*outcome->segment, *body->mutable_segment());
  body->set_claimed(outcome->claimed);
}

void RequestHandler::on_hold(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto outcome = registry_.hold(ctx.client, ctx.credentials, req.hold().id(), req.hold().seconds(), HoldClock::now());
  if (!outcome) return set_failure(reply, outcome.failure());
  auto* body = reply.response.mutable_hold();
  body->set_token(outcome->token);
  body->set_seconds(static_cast<std::uint32_t>(outcome->lifetime.count()));
  fill_info(*outcome->segment, *body->mutable_segment());
  if (hold_listener_) hold_listener_();
}

void RequestHandler::on_detach(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  reply.no_reply = req.detach().no_reply();
  auto left = registry_.detach(ctx.client, req.detach().id());
  if (!left) return set_failure(reply, left.failure());
  reply.response.mutable_detach()->set_refcount(left.value());
}

void RequestHandler::on_remove(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto freed = registry_.remove(ctx.credentials, req.remove().name());
  if (!freed) return set_failure(reply, freed.failure());
  reply.response.mutable_remove()->set_freed(freed.value());
}

void RequestHandler::on_list(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::ListRequest& l = req.list();
  auto* body = reply.response.mutable_list();
  std::size_t budget = kListPageBudget;
  const std::size_t limit = l.limit() == 0 ? SIZE_MAX : l.limit();
  bool more = false;
  pb::SegmentInfo info;
  registry_.for_each_after(l.after_name(), l.after_id(), [&](const SegmentRecord& r) {
    fill_info(r, info);
    if (!Registry::permits(ctx.credentials, r, Access::read)) hide_private_fields(info);
    const std::size_t cost = info.ByteSizeLong() + 4;  // field tag + length prefix
    if (static_cast<std::size_t>(body->segments_size()) == limit || cost > budget) {
      more = true;
      return false;
    }
    budget -= cost;
    body->add_segments()->Swap(&info);
    return true;
  });
  body->set_more(more);
}

void RequestHandler::on_info(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto found = registry_.lookup(req.info().name());
  if (!found) return set_failure(reply, found.failure());
  const SegmentRecord* r = found.value();
  if (!Registry::permits(ctx.credentials, *r, Access::read))
    return set_error(reply, Errc::permission_denied,
                     "segment '" + r->name + "' (mode " + octal_mode(r->mode) + ") is not readable by uid " +
                         std::to_string(ctx.credentials.uid));
  fill_info(*r, *reply.response.mutable_info()->mutable_segment());
}

void RequestHandler::on_reattach(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto segment = registry_.reattach(ctx.client, ctx.credentials, req.reattach().id(), req.reattach().references());
  if (!segment) return set_failure(reply, segment.failure());
  fill_info(*segment.value(), *reply.response.mutable_reattach()->mutable_segment());
}

void RequestHandler::on_chmod(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto segment = registry_.chmod(ctx.credentials, req.chmod().name(), req.chmod().mode());
  if (!segment) return set_failure(reply, segment.failure());
  fill_info(*segment.value(), *reply.response.mutable_chmod()->mutable_segment());
}

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

}  // namespace shmd
