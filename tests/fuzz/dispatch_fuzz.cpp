// The fuzz body: bytes -> FrameDecoder -> Request -> RequestHandler, with no socket, the way a
// Session drives them. Two connections take turns; the request id picks who is asking, so the
// fuzzer can reach owner, group, other and root paths. AttachRequest.claim = N names the Nth hold
// token issued (see below).

#include "dispatch_fuzz.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shm/wire/framing.hpp"
#include "shmd.pb.h"
#include "shmd/registry.hpp"
#include "shmd/request_handler.hpp"

namespace {

namespace pb = shmd::v1;

/// Small limits keep every memfd a few pages, so an input costs microseconds, not megabytes.
shmd::Limits fuzz_limits() {
  shmd::Limits limits;
  limits.max_segment_bytes = 4096;
  limits.max_total_bytes = 64 * 1024;
  limits.max_segments = 16;
  limits.max_name_length = 255;
  limits.max_bytes_per_uid = 16 * 1024;
  limits.max_segments_per_uid = 8;
  limits.max_holds_per_uid = 4;
  return limits;
}

/// Who may be asking: an owner, a member of the owner's group, a stranger, and root.
const std::array<shmd::Credentials, 4> kWho = {{
    {1000, 1000, 101, {}},
    {1001, 1000, 102, {}},
    {2000, 2000, 103, {4242}},
    {0, 0, 1, {}},
}};

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "shmd_fuzz_one: invariant broken: %s\n", what);
  std::abort();
}

/// A reply must fit one frame, echo the request id, and carry an fd exactly when it hands over a
/// segment (proto/README.md, "Passing file descriptors": a body of `attach`, or `create` to a request
/// without `no_attach`); the fd must be the segment's full size. Only a Detach with `no_reply` may
/// go unanswered.
void check_reply(const pb::Request& request, const shmd::Reply& reply) {
  if (reply.response.ByteSizeLong() > shm::wire::kMaxFrameBytes) broken("reply larger than one frame");
  if (reply.response.request_id() != request.request_id()) broken("reply does not echo the request id");
  if (reply.response.has_error() && reply.response.body_case() != pb::Response::BODY_NOT_SET)
    broken("an error reply carries a body");
  if (reply.response.has_error() && reply.response.error().code() == pb::ERROR_CODE_UNSPECIFIED)
    broken("an error reply without a code");
  const auto body = reply.response.body_case();
  // Attach (claiming a hold or not) and Create without no_attach hand over a segment; Hold, like
  // every other reply, carries no fd.
  const bool no_attach = request.body_case() == pb::Request::kCreate && request.create().no_attach();
  const bool hands_over = body == pb::Response::kAttach || (body == pb::Response::kCreate && !no_attach);
  if (hands_over && !reply.has_fd()) broken("a reply that hands over a segment carries no fd");
  if (!hands_over && reply.has_fd()) broken("an fd rides with a reply that hands over no segment");
  if (body == pb::Response::kCreate && no_attach && reply.response.create().segment().refcount() != 0 &&
      reply.response.create().created())
    broken("a no_attach Create that made the segment counts a reference");
  const bool quiet = request.body_case() == pb::Request::kDetach && request.detach().no_reply();
  if (reply.no_reply != quiet) broken("no_reply set on a reply other than a quiet Detach's, or missing from one");
  if (body == pb::Response::kHold && reply.response.hold().token() == 0) broken("a hold answered with token 0");
  if (body == pb::Response::kAttach && reply.response.attach().claimed() && request.attach().claim() == 0)
    broken("an attach claimed a hold without a token");
  if (reply.has_fd()) {
    struct stat st {};
    if (::fstat(reply.fd_to_send(), &st) != 0) broken("the passed fd is not open");
    const auto& info =
        body == pb::Response::kCreate ? reply.response.create().segment() : reply.response.attach().segment();
    if (static_cast<std::uint64_t>(st.st_size) != info.mapping_bytes()) broken("fd size differs from mapping_bytes");
    const bool read_only = request.body_case() == pb::Request::kAttach && request.attach().read_only();
    const int access = ::fcntl(reply.fd_to_send(), F_GETFL) & O_ACCMODE;
    if (read_only && access != O_RDONLY) broken("a read-only Attach hands over a writable fd");
  }
  if (reply.close_connection) broken("a parsed request asked to close the connection");
  if ((body == pb::Response::kSubscribe) != static_cast<bool>(reply.subscriber))
    broken("a subscriber without a Subscribe reply, or a Subscribe reply without one");
  if (body == pb::Response::kEvent) broken("an event as the reply to a request");
}

/// A subscriber's queue holds at most its limit, and every frame in it is an event of its
/// stream: a segment unless it is an overflow notice, which says how many it replaces.
void check_subscriber(shmd::Subscriber& subscriber, std::uint64_t request_id) {
  if (subscriber.queued() > subscriber.limit()) broken("a subscriber queue beyond its limit");
  std::string frame;
  std::string payload;
  pb::Response response;
  while (subscriber.pop(frame)) {
    shm::wire::FrameDecoder decoder;
    decoder.feed(frame);
    if (!decoder.next(payload) || !response.ParseFromString(payload))
      broken("a queued event is not one framed Response");
    if (response.request_id() != request_id || !response.has_event())
      broken("a queued frame is not an event of its stream");
    const pb::Event& e = response.event();
    if ((e.kind() == pb::EVENT_OVERFLOW) == e.has_segment())
      broken("an overflow with a segment, or an event without one");
    if (e.kind() == pb::EVENT_OVERFLOW && e.missed() == 0) broken("an overflow that missed nothing");
  }
  if (subscriber.queued() != 0 || subscriber.queued_bytes() != 0) broken("an empty queue that counts something");
}

/// The registry's totals must equal the sum over what it lists, and the holds it counts per
/// segment the holds it has.
void check_registry(const shmd::Registry& registry) {
  std::uint64_t bytes = 0;
  std::size_t count = 0;
  std::size_t holds = 0;
  registry.for_each_after("", 0, [&](const shmd::SegmentRecord& r) {
    bytes += r.sizes.mapping_bytes;
    ++count;
    holds += r.holds;
    if (r.holds > r.refcount) broken("a segment has more holds than references");
    return true;
  });
  if (holds != registry.hold_count()) broken("the segments' holds differ from the outstanding holds");
  if (bytes != registry.total_bytes()) broken("total_bytes differs from the sum of the segments");
  if (count != registry.segment_count()) broken("segment_count differs from the listed segments");
  if (count > registry.limits().max_segments) broken("more segments than max-segments");
  if (bytes > registry.limits().max_total_bytes) broken("more bytes than max-total-bytes");
}

void silence_protobuf(google::protobuf::LogLevel, const char*, int, const std::string&) {}

}  // namespace

int shmd_fuzz_one(const std::uint8_t* data, std::size_t size) {
  // Invalid UTF-8 in a string field makes protobuf log an error per input; that is expected here.
  static const bool quiet = (google::protobuf::SetLogHandler(&silence_protobuf), true);
  (void)quiet;

  shmd::Registry registry(fuzz_limits());
  shmd::RequestHandler handler(registry, "fuzz");
  shm::wire::FrameDecoder decoder;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Two feeds, so frames that straddle a read are decoded too.
  const std::size_t split = size / 2;
  const std::array<std::string_view, 2> reads = {input.substr(0, split), input.substr(split)};

  std::string payload;
  pb::Request request;
  std::size_t frame = 0;
  std::vector<std::uint64_t> tokens;  // every hold token issued, in order
  std::vector<std::pair<std::shared_ptr<shmd::Subscriber>, std::uint64_t>> subscribers;  // and their request ids
  bool open = true;
  for (const std::string_view bytes : reads) {
    if (!open) break;
    decoder.feed(bytes);
    while (open && decoder.next(payload)) {
      if (payload.size() > shm::wire::kMaxFrameBytes) broken("decoder returned an oversized frame");
      if (!request.ParseFromString(payload)) {
        open = false;  // the Session answers protocol_error and closes
        break;
      }
      // Hold tokens are random, so no input can spell one: a claim of N (1, 2, ...) stands for
      // the Nth token this input was given, which lets the fuzzer reach successful claims.
      if (request.has_attach() && request.attach().claim() >= 1 && request.attach().claim() <= tokens.size())
        request.mutable_attach()->set_claim(tokens[request.attach().claim() - 1]);
      shmd::RequestContext ctx;
      ctx.client = 1 + frame % 2;
      ctx.credentials = kWho[request.request_id() % kWho.size()];
      const shmd::Reply reply = handler.handle(ctx, request);
      if (reply.response.has_hold()) tokens.push_back(reply.response.hold().token());
      check_reply(request, reply);
      check_registry(registry);
      if (reply.subscriber) subscribers.emplace_back(reply.subscriber, request.request_id());
      for (auto& [subscriber, id] : subscribers)
        if (subscriber->queued() > subscriber->limit()) broken("a subscriber queue beyond its limit");
      ++frame;
    }
    if (decoder.error() != shm::wire::FrameError::none) open = false;
  }

  registry.drop_client(1);
  registry.drop_client(2);
  check_registry(registry);
  for (auto& [subscriber, id] : subscribers) check_subscriber(*subscriber, id);
  // With every connection gone, only holds reference anything; they outlive connections.
  registry.for_each_after("", 0, [](const shmd::SegmentRecord& r) {
    if (r.refcount != r.holds) broken("a connection's reference survives its connection");
    return true;
  });
  // Once every hold has expired, nothing is referenced, and nothing removed or ephemeral is left.
  registry.expire_holds(shmd::HoldClock::now() + shmd::kMaxHoldLifetime);
  if (registry.hold_count() != 0 || registry.next_hold_deadline()) broken("a hold outlives its longest lifetime");
  check_registry(registry);
  registry.for_each_after("", 0, [](const shmd::SegmentRecord& r) {
    if (r.refcount != 0) broken("references survive the last connection");
    if (r.removed || r.ephemeral) broken("a removed or ephemeral segment outlives its last reference");
    return true;
  });
  return 0;
}
