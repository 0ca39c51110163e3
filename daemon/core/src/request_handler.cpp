#include "shmd/request_handler.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "shm/names.hpp"
#include "shm/octal_mode.hpp"
#include "shm/wire/framing.hpp"
#include "shm/wire/protocol_version.hpp"
#include "shmd/protocol.hpp"

namespace shmd {
namespace {

namespace pb = shmd::v1;
using shm::Errc;

/// List pages stay well under the frame limit, whatever the names.
constexpr std::size_t kListPageBudget = shm::wire::kMaxFrameBytes - 4096;

void set_error(Reply& reply, Errc code, std::string message) {
  shmd::set_error(reply.response, code, std::move(message));
}

void set_failure(Reply& reply, const shm::Failure& f) { set_error(reply, f.code, f.message); }

// The fd a reply hands over. A writable attach shares the registry's memfd: no copy per attach,
// and the reply keeps it open however long the socket makes the session wait. A read-only attach
// gets the memfd reopened O_RDONLY: mmap(PROT_WRITE, MAP_SHARED) and mprotect(PROT_WRITE) of it
// then fail with EACCES, whatever the client tries.
shm::Result<shm::SharedFd> segment_fd(const SegmentRecord& r, shm::AccessMode access) {
  if (access == shm::AccessMode::read_write) return r.memfd;
  const std::string path = "/proc/self/fd/" + std::to_string(r.memfd.get());
  shm::UniqueFd reopened(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  // Whatever open() says, the daemon is short of descriptors (or memory) to pass it: a limit.
  if (!reopened)
    return shm::fail(Errc::limit_exceeded, std::string("cannot pass the segment: ") + std::strerror(errno));
  return shm::SharedFd(std::move(reopened));
}

// Who may not read a segment still sees it listed (as with ipcs), but not who made it or when.
void hide_private_fields(pb::SegmentInfo& info) {
  info.clear_creator_pid();
  info.clear_created_unix_ns();
}

}  // namespace

// NOLINTNEXTLINE(modernize-avoid-c-arrays): see the declaration
const RequestHandler::Route RequestHandler::kRoutes[] = {
    {pb::Request::kHello, &RequestHandler::on_hello},   {pb::Request::kCreate, &RequestHandler::on_create},
    {pb::Request::kAttach, &RequestHandler::on_attach}, {pb::Request::kDetach, &RequestHandler::on_detach},
    {pb::Request::kRemove, &RequestHandler::on_remove}, {pb::Request::kList, &RequestHandler::on_list},
    {pb::Request::kInfo, &RequestHandler::on_info},     {pb::Request::kReattach, &RequestHandler::on_reattach},
    {pb::Request::kChmod, &RequestHandler::on_chmod},   {pb::Request::kHold, &RequestHandler::on_hold},
    {pb::Request::kWatch, &RequestHandler::on_watch},   {pb::Request::kSubscribe, &RequestHandler::on_subscribe},
};

RequestHandler::RequestHandler(Registry& registry, std::string server_version, std::size_t subscriber_events)
    : registry_(registry), server_version_(std::move(server_version)), events_(subscriber_events) {
  registry_.set_event_sink(&events_);
}

RequestHandler::~RequestHandler() { registry_.set_event_sink(nullptr); }

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

Reply RequestHandler::refusal(const shm::Failure& why) {
  Reply reply;
  set_error(reply, why.code, why.message);
  reply.close_connection = true;
  return reply;
}

void RequestHandler::on_hello(const RequestContext&, const pb::Request& req, Reply& reply) {
  if (req.hello().protocol_version() != shm::wire::kProtocolVersion) {
    set_error(reply, Errc::version_mismatch,
              "client speaks protocol version " + std::to_string(req.hello().protocol_version()) +
                  "; this daemon speaks " + std::to_string(shm::wire::kProtocolVersion));
    return;
  }
  auto* hello = reply.response.mutable_hello();
  hello->set_protocol_version(shm::wire::kProtocolVersion);
  hello->set_server_version(server_version_);
  hello->set_segment_layout(shm::kLayoutVersion);
}

void RequestHandler::on_create(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::CreateRequest& c = req.create();
  auto decoded = create_params_from_wire(c);
  if (!decoded) return set_failure(reply, decoded.failure());
  const CreateParams& params = decoded.value();
  if (c.no_attach() && c.ephemeral()) {
    set_error(
        reply, Errc::invalid_argument,
        "an ephemeral segment without a reference would vanish at once: no_attach and ephemeral exclude each other");
    return;
  }
  auto outcome = registry_.create(ctx.client, ctx.credentials, params);
  if (!outcome) return set_failure(reply, outcome.failure());
  if (c.no_attach()) {
    // Made (or found) as any create is, then let go: the segment is persistent, so it stays.
    auto* body = reply.response.mutable_create();
    to_wire(*outcome->segment, *body->mutable_segment());
    body->set_created(outcome->created);
    const auto left = registry_.detach(ctx.client, outcome->segment->id);
    body->mutable_segment()->set_refcount(left ? left.value() : 0);
    return;
  }
  auto fd = segment_fd(*outcome->segment, shm::AccessMode::read_write);
  if (!fd) {
    // The client never sees this reference: undo it, and undo the segment if we made it.
    const std::uint64_t id = outcome->segment->id;
    if (outcome->created) (void)registry_.remove(ctx.credentials, params.name);
    (void)registry_.detach(ctx.client, id);
    return set_failure(reply, fd.failure());
  }
  reply.fd = std::move(fd.value());
  registry_.hand_out(outcome->segment->id);
  auto* body = reply.response.mutable_create();
  to_wire(*outcome->segment, *body->mutable_segment());
  body->set_created(outcome->created);
}

void RequestHandler::on_attach(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::AttachRequest& a = req.attach();
  const shm::AccessMode access = access_from_wire(a);
  auto outcome = registry_.claim(ctx.client, ctx.credentials, a.name(), access, a.claim());
  if (!outcome) return set_failure(reply, outcome.failure());
  // If the fd cannot be passed, a claimed hold's reference goes with the detach: the hold is spent,
  // as it would be by a receiver that claimed and then failed.
  auto fd = segment_fd(*outcome->segment, access);
  if (!fd) {
    (void)registry_.detach(ctx.client, outcome->segment->id);
    return set_failure(reply, fd.failure());
  }
  reply.fd = std::move(fd.value());
  auto* body = reply.response.mutable_attach();
  to_wire(*outcome->segment, *body->mutable_segment());
  body->set_claimed(outcome->claimed);
}

void RequestHandler::on_hold(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const HoldStart start = req.hold().from_close() ? HoldStart::at_close : HoldStart::now;
  auto outcome =
      registry_.hold(ctx.client, ctx.credentials, req.hold().id(), req.hold().seconds(), HoldClock::now(), start);
  if (!outcome) return set_failure(reply, outcome.failure());
  auto* body = reply.response.mutable_hold();
  body->set_token(outcome->token);
  body->set_seconds(static_cast<std::uint32_t>(outcome->lifetime.count()));
  to_wire(*outcome->segment, *body->mutable_segment());
  if (start == HoldStart::now && hold_listener_) hold_listener_();
}

void RequestHandler::client_closed(ClientId client) {
  if (registry_.drop_client(client) > 0 && hold_listener_) hold_listener_();
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
    to_wire(r, info);
    if (!Registry::permits(ctx.credentials, r, shm::AccessMode::read_only)) hide_private_fields(info);
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
  if (!Registry::permits(ctx.credentials, *r, shm::AccessMode::read_only))
    return set_error(reply, Errc::permission_denied,
                     "segment '" + r->name + "' (mode " + shm::octal_mode(r->mode) + ") is not readable by uid " +
                         std::to_string(ctx.credentials.uid));
  to_wire(*r, *reply.response.mutable_info()->mutable_segment());
}

void RequestHandler::on_reattach(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto segment = registry_.reattach(ctx.client, ctx.credentials, req.reattach().id(), req.reattach().references());
  if (!segment) return set_failure(reply, segment.failure());
  to_wire(*segment.value(), *reply.response.mutable_reattach()->mutable_segment());
}

void RequestHandler::on_watch(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto word = registry_.watch(ctx.credentials, req.watch().id());
  if (!word) return set_failure(reply, word.failure());
  reply.response.mutable_watch()->set_changes(word.value());
}

void RequestHandler::on_chmod(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  auto segment = registry_.chmod(ctx.credentials, req.chmod().name(), req.chmod().mode());
  if (!segment) return set_failure(reply, segment.failure());
  to_wire(*segment.value(), *reply.response.mutable_chmod()->mutable_segment());
}

void RequestHandler::on_subscribe(const RequestContext& ctx, const pb::Request& req, Reply& reply) {
  const pb::SubscribeRequest& sub = req.subscribe();
  if (!sub.prefix().empty()) {
    // A prefix is the start of a name: the same bytes and length rules apply.
    if (auto valid = shm::check_segment_name(sub.prefix(), registry_.limits().max_name_length); !valid)
      return set_error(reply, Errc::invalid_argument, "prefix: " + valid.failure().message);
  }
  // Each stream may keep a full queue waiting: the caps bound what they cost together.
  const Limits& limits = registry_.limits();
  if (const std::size_t all = events_.subscriber_count(); all >= limits.max_subscribers)
    return set_error(reply, Errc::limit_exceeded,
                     "the daemon feeds max-subscribers (" + std::to_string(all) + ") event streams already");
  if (!ctx.credentials.privileged()) {
    if (const std::size_t own = events_.subscriber_count(ctx.credentials.uid); own >= limits.max_subscribers_per_uid)
      return set_error(reply, Errc::limit_exceeded,
                       "uid " + std::to_string(ctx.credentials.uid) + " holds max-subscribers-per-uid (" +
                           std::to_string(own) + ") event streams already");
  }
  reply.subscriber = events_.subscribe(ctx.credentials, req.request_id(), sub.prefix(), sub.attachments());
  reply.response.mutable_subscribe()->set_queue_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(events_.queue_limit(), UINT32_MAX)));
}

}  // namespace shmd
