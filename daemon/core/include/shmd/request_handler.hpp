#pragma once
/// RequestHandler: turns one decoded Request into one Response. Never sees a socket.

#include <functional>
#include <string>

#include "shm/unique_fd.hpp"
#include "shmd.pb.h"
#include "shmd/credentials.hpp"
#include "shmd/registry.hpp"

namespace shmd {

/// The daemon's protocol version and its software version, as Hello reports them.
inline constexpr std::uint32_t kProtocolVersion = 1;

/// A response, the fd to send with it (if any), and whether to close the connection after it.
struct Reply {
  shmd::v1::Response response;  ///< the reply message
  shm::UniqueFd fd;             ///< a descriptor of the reply's own to pass (a read-only reopen), or empty
  /// The registry's memfd to pass, lent rather than duplicated: it stays open only until the
  /// daemon runs another request, so the sender must duplicate it before it waits for anything.
  const shm::UniqueFd* lent_fd = nullptr;
  bool close_connection = false;  ///< the request stream is broken beyond repair
  bool no_reply = false;          ///< the client asked for no answer (a quiet Detach): send nothing

  /// The descriptor to send with the response, or -1.
  [[nodiscard]] int fd_to_send() const noexcept { return fd ? fd.get() : lent_fd != nullptr ? lent_fd->get() : -1; }
  /// True when a descriptor rides with the response.
  [[nodiscard]] bool has_fd() const noexcept { return fd_to_send() >= 0; }
};

/// Identity of the connection a request came in on.
struct RequestContext {
  ClientId client = 0;      ///< whose references change
  Credentials credentials;  ///< who is asking (SO_PEERCRED)
};

/// Executes requests against the registry. One instance serves every session.
class RequestHandler {
 public:
  /// Serves requests against `registry`; `server_version` is reported by Hello.
  RequestHandler(Registry& registry, std::string server_version);

  /// Handles one well-formed Request.
  Reply handle(const RequestContext& ctx, const shmd::v1::Request& request);
  /// The reply to bytes that are not a valid frame or message: PROTOCOL_ERROR, then close.
  static Reply protocol_error(std::string message);
  /// Called after every new hold, so the daemon can bring its expiry timer forward.
  void set_hold_listener(std::function<void()> listener) { hold_listener_ = std::move(listener); }

 private:
  void on_hello(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_create(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_attach(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_detach(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_remove(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_list(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_info(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_chmod(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_reattach(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_hold(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);

  using Handler = void (RequestHandler::*)(const RequestContext&, const shmd::v1::Request&, Reply&);
  struct Route {
    shmd::v1::Request::BodyCase body;  ///< the oneof case
    Handler handler;                   ///< its handler
  };
  static const Route kRoutes[];  ///< one small handler per message, instead of a growing switch

  Registry& registry_;          ///< the segments
  std::string server_version_;  ///< reported by Hello
  std::function<void()> hold_listener_;  ///< told about new holds; may be empty
};

/// The wire code for an shm::Errc (the one place this mapping lives on the daemon side).
shmd::v1::ErrorCode to_wire(shm::Errc code) noexcept;

}  // namespace shmd
