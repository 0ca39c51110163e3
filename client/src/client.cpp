#include "shm/client.hpp"

#include <sys/stat.h>

#include <cstring>
#include <limits>

#include "connection.hpp"
#include "protocol.hpp"
#include "shm/result.hpp"
#include "shm/segment_layout.hpp"

namespace shm {
namespace {

namespace pb = shmd::v1;

// The reply is authoritative; the header inside the memory is client-writable and is only
// cross-checked, so a scribbled header is reported instead of trusted.
Result<void> check_mapping(const SegmentInfo& info, int fd, const Mapping& map) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(Errc::corrupt_segment, std::string("fstat: ") + std::strerror(errno));
  if (static_cast<std::uint64_t>(st.st_size) != info.mapping_bytes)
    return fail(Errc::corrupt_segment,
                "memfd is " + std::to_string(st.st_size) + " bytes, daemon said " + std::to_string(info.mapping_bytes));
  const auto sizes = segment_sizes(info.element_size, info.length, info.kind);
  const auto type = type_info(info.typecode);
  if (!sizes || !type || type->size != info.element_size || sizes->data_bytes != info.size_bytes ||
      sizes->mapping_bytes != info.mapping_bytes || info.data_offset != sizes->data_offset)
    return fail(Errc::corrupt_segment, "daemon's sizes for the segment are inconsistent");
  const auto* h = reinterpret_cast<const SegmentHeader*>(map.data());
  if (h->magic != kSegmentMagic || h->layout_version != kLayoutVersion)
    return fail(Errc::corrupt_segment, "segment header has a bad magic or layout version");
  if (h->typecode != info.typecode || h->kind != info.kind || h->element_size != info.element_size ||
      h->length != info.length || h->data_offset != info.data_offset)
    return fail(Errc::corrupt_segment, "segment header disagrees with the daemon's metadata");
  return {};
}

// Turns a create/attach reply into a mapped, verified Segment. The reply already gave this
// connection a reference, so every failure here detaches again.
Segment map_reply(const pb::SegmentInfo& wire, UniqueFd fd, std::shared_ptr<detail::Connection> connection,
                  AccessMode mode, std::error_code& ec) {
  const bool read_only = mode == AccessMode::read_only;
  SegmentInfo info = detail::from_wire(wire);
  std::error_code map_ec;
  Mapping map = Mapping::map(fd.get(), static_cast<std::size_t>(info.mapping_bytes), mode, map_ec);
  const Result<void> checked =
      map_ec ? Result<void>(fail(errc_from_errno(map_ec.value()), "cannot map it: " + map_ec.message()))
             : check_mapping(info, fd.get(), map);
  // Memory that failed its checks is never touched again: a memfd smaller than the mapping
  // would fault (SIGBUS) on the first read of its lock word. Found by the client fuzzer.
  if (!checked) map = Mapping();
  Segment segment = detail::SegmentAccess::make(info, std::move(map), std::move(connection), read_only);
  if (checked) return segment;
  std::error_code ignored;
  segment.detach(ignored);
  detail::fail(ec, checked.failure().code, "segment '" + info.name + "': " + checked.failure().message);
  return {};
}

// One request/response on `connection`; a Client that never connected fails cleanly. With
// `segment_fd`, the request is one whose reply hands over a segment, and its fd lands there.
bool exchange(const std::shared_ptr<detail::Connection>& connection, pb::Request& request, pb::Response& response,
              std::error_code& ec, UniqueFd* segment_fd = nullptr) {
  if (!connection) {
    detail::fail(ec, Errc::daemon_unavailable, "client is not connected");
    return false;
  }
  if (segment_fd != nullptr)
    connection->call(request, response, *segment_fd, ec);
  else
    connection->call(request, response, ec);
  return !ec;
}

}  // namespace

Client::Client(std::string socket_path) {
  std::error_code ec;
  connection_ = detail::Connection::open(socket_path, ec);
  if (ec) throw Error(ec, last_error_message());
}

Client::Client(std::string socket_path, std::error_code& ec) {
  connection_ = detail::Connection::open(std::move(socket_path), ec);
}

void Client::set_reply_timeout(std::chrono::milliseconds timeout) noexcept {
  if (connection_) connection_->set_reply_timeout(timeout);
}

void Client::set_busy_poll(std::chrono::microseconds window) noexcept {
  if (connection_) connection_->set_busy_poll(window);
}

const std::string& Client::socket_path() const noexcept {
  static const std::string none;
  return connection_ ? connection_->socket_path() : none;
}

Segment Client::create(std::string_view name, const SegmentSpec& spec, std::error_code& ec) {
  pb::Request request;
  detail::to_wire(name, spec, *request.mutable_create());
  pb::Response response;
  UniqueFd fd;
  if (!exchange(connection_, request, response, ec, &fd)) return {};
  return map_reply(response.create().segment(), std::move(fd), connection_, AccessMode::read_write, ec);
}

SegmentInfo Client::create_detached(std::string_view name, const SegmentSpec& spec, std::error_code& ec) {
  pb::Request request;
  detail::to_wire(name, spec, *request.mutable_create());
  request.mutable_create()->set_no_attach(true);
  pb::Response response;
  if (!exchange(connection_, request, response, ec)) return {};
  return detail::from_wire(response.create().segment());
}

SegmentInfo Client::create_detached(std::string_view name, const SegmentSpec& spec) {
  std::error_code ec;
  SegmentInfo info = create_detached(name, spec, ec);
  throw_if(ec, "create", name);
  return info;
}

Segment Client::attach(std::string_view name, std::error_code& ec) { return attach(name, AccessMode::read_write, ec); }

// Token 0 names no hold: a plain attach is a claim of nothing.
Segment Client::attach(std::string_view name, AccessMode mode, std::error_code& ec) { return claim(name, 0, mode, ec); }

Segment Client::claim(std::string_view name, std::uint64_t token, AccessMode mode, std::error_code& ec) {
  pb::Request request;
  detail::to_wire(name, mode, token, *request.mutable_attach());
  pb::Response response;
  UniqueFd fd;
  if (!exchange(connection_, request, response, ec, &fd)) return {};
  return map_reply(response.attach().segment(), std::move(fd), connection_, mode, ec);
}

Segment Client::claim(std::string_view name, std::uint64_t token, AccessMode mode) {
  std::error_code ec;
  Segment s = claim(name, token, mode, ec);
  throw_if(ec, "claim", name);
  return s;
}

std::uint64_t Client::hold(const Segment& segment, std::chrono::seconds grace, std::error_code& ec) {
  return hold(segment, grace, HoldStart::now, ec);
}

std::uint64_t Client::hold(const Segment& segment, std::chrono::seconds grace, HoldStart start, std::error_code& ec) {
  ec.clear();
  if (grace < std::chrono::seconds::zero() || grace.count() > std::numeric_limits<std::uint32_t>::max()) {
    detail::fail(ec, Errc::invalid_argument,
                 "a hold lasts 0 (the default) to 600 seconds, not " + std::to_string(grace.count()));
    return 0;
  }
  // The reference to hold is the one `segment` stands for, so the request goes where it is held.
  const auto holder = detail::SegmentAccess::holder(segment);
  if (!holder) {
    detail::fail(ec, Errc::not_attached,
                 segment.valid() ? "segment '" + std::string(segment.name()) +
                                       "' was inherited through fork(); its reference is the parent's to hold"
                                 : std::string("cannot hold an empty (detached) segment handle"));
    return 0;
  }
  pb::Request request;
  request.mutable_hold()->set_id(segment.info().id);
  request.mutable_hold()->set_seconds(static_cast<std::uint32_t>(grace.count()));
  request.mutable_hold()->set_from_close(start == HoldStart::at_close);
  pb::Response response;
  if (!exchange(holder, request, response, ec)) return 0;
  return response.hold().token();
}

std::uint64_t Client::hold(const Segment& segment, std::chrono::seconds grace, HoldStart start) {
  std::error_code ec;
  const std::uint64_t token = hold(segment, grace, start, ec);
  throw_if(ec, "hold", segment.name());
  return token;
}

SegmentInfo Client::chmod(std::string_view name, std::uint32_t mode, std::error_code& ec) {
  pb::Request request;
  request.mutable_chmod()->set_name(std::string(name));
  request.mutable_chmod()->set_mode(mode);
  pb::Response response;
  if (!exchange(connection_, request, response, ec)) return {};
  return detail::from_wire(response.chmod().segment());
}

SegmentInfo Client::chmod(std::string_view name, std::uint32_t mode) {
  std::error_code ec;
  SegmentInfo info = chmod(name, mode, ec);
  throw_if(ec, "chmod", name);
  return info;
}

void Client::remove(std::string_view name, std::error_code& ec) {
  pb::Request request;
  request.mutable_remove()->set_name(std::string(name));
  pb::Response response;
  (void)exchange(connection_, request, response, ec);
}

SegmentInfo Client::info(std::string_view name, std::error_code& ec) {
  pb::Request request;
  request.mutable_info()->set_name(std::string(name));
  pb::Response response;
  if (!exchange(connection_, request, response, ec)) return {};
  return detail::from_wire(response.info().segment());
}

std::vector<SegmentInfo> Client::list(std::error_code& ec) {
  std::vector<SegmentInfo> all;
  pb::Request request;
  request.mutable_list();  // from the start: ("", 0)
  pb::Response response;
  for (;;) {
    if (!exchange(connection_, request, response, ec)) return {};
    const auto& page = response.list();
    for (const auto& s : page.segments()) all.push_back(detail::from_wire(s));
    if (!page.more() || page.segments_size() == 0) return all;
    request.mutable_list()->set_after_name(all.back().name);
    request.mutable_list()->set_after_id(all.back().id);
  }
}

Segment Client::create(std::string_view name, const SegmentSpec& spec) {
  std::error_code ec;
  Segment s = create(name, spec, ec);
  throw_if(ec, "create", name);
  return s;
}

Segment Client::attach(std::string_view name, AccessMode mode) {
  std::error_code ec;
  Segment s = attach(name, mode, ec);
  throw_if(ec, "attach", name);
  return s;
}

void Client::remove(std::string_view name) {
  std::error_code ec;
  remove(name, ec);
  throw_if(ec, "remove", name);
}

SegmentInfo Client::info(std::string_view name) {
  std::error_code ec;
  SegmentInfo i = info(name, ec);
  throw_if(ec, "info", name);
  return i;
}

std::vector<SegmentInfo> Client::list() {
  std::error_code ec;
  auto l = list(ec);
  throw_if(ec, "list", "");
  return l;
}

void Client::check_type(const Segment& s, bool type_ok, Kind kind, char wanted, std::error_code& ec) {
  if (type_ok && s.info().kind == kind) return;
  detail::fail(ec, Errc::type_mismatch,
               "segment '" + s.info().name + "' is " + std::string(kind_title(s.info().kind)) + " '" +
                   std::string(1, s.typecode()) + "'; it cannot be attached as " + std::string(kind_title(kind)) +
                   " '" + std::string(1, wanted) + "'");
}

void Client::throw_if(const std::error_code& ec, std::string_view op, std::string_view name) {
  if (!ec) return;
  std::string what(op);
  if (!name.empty()) what += " '" + std::string(name) + "'";
  throw Error(ec, what + ": " + last_error_message());
}

}  // namespace shm
