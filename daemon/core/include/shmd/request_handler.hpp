#pragma once
/// RequestHandler: turns one decoded Request into one Response. Never sees a socket.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "shm/result.hpp"
#include "shm/shared_fd.hpp"
#include "shmd.pb.h"
#include "shmd/credentials.hpp"
#include "shmd/event_hub.hpp"
#include "shmd/registry.hpp"
#include "shmd/subscriber.hpp"

namespace shmd {

/// A response, the fd to send with it (if any), and whether to close the connection after it.
/// The reply owns what it sends: whoever sends it needs to know nothing about where the fd came from.
struct Reply {
  shmd::v1::Response response;  ///< the reply message
  /// The segment memfd the reply hands over, or empty: the registry's own (shared, not copied, so
  /// it stays open until the reply is sent even if the segment is freed meanwhile), or a
  /// read-only reopen of it.
  shm::SharedFd fd;
  bool close_connection = false;  ///< the request stream is broken beyond repair
  bool no_reply = false;          ///< the client asked for no answer (a quiet Detach): send nothing
  /// Set by a successful Subscribe: after this reply the connection carries this subscriber's
  /// events and serves no more requests.
  std::shared_ptr<Subscriber> subscriber;

  /// The descriptor to send with the response, or -1.
  [[nodiscard]] int fd_to_send() const noexcept { return fd.get(); }
  /// True when a descriptor rides with the response.
  [[nodiscard]] bool has_fd() const noexcept { return static_cast<bool>(fd); }
};

/// Identity of the connection a request came in on.
struct RequestContext {
  ClientId client = 0;      ///< whose references change
  Credentials credentials;  ///< who is asking (SO_PEERCRED)
};

/// Executes requests against the registry. One instance serves every session.
class RequestHandler {
 public:
  /// Serves requests against `registry`; `server_version` is reported by Hello; each subscriber
  /// may have `subscriber_events` events waiting. Reports the registry's events to its subscribers.
  RequestHandler(Registry& registry, std::string server_version,
                 std::size_t subscriber_events = kDefaultSubscriberEvents);
  RequestHandler(const RequestHandler&) = delete;
  RequestHandler& operator=(const RequestHandler&) = delete;
  /// Stops the registry reporting to this handler's subscribers.
  ~RequestHandler();

  /// Handles one well-formed Request.
  Reply handle(const RequestContext& ctx, const shmd::v1::Request& request);
  /// The reply to bytes that are not a valid frame or message: PROTOCOL_ERROR, then close.
  static Reply protocol_error(std::string message);
  /// The reply to a connection refused before it was served (a connection cap): `why`, then close.
  static Reply refusal(const shm::Failure& why);
  /// Called after every new hold deadline, so the daemon can bring its expiry timer forward.
  void set_hold_listener(std::function<void()> listener) { hold_listener_ = std::move(listener); }
  /// A connection closed: gives back its references, and starts the holds that wait for its close.
  void client_closed(ClientId client);
  /// The subscribers of every connection that sent Subscribe.
  [[nodiscard]] const EventHub& events() const noexcept { return events_; }

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
  void on_watch(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);
  void on_subscribe(const RequestContext& ctx, const shmd::v1::Request& req, Reply& reply);

  using Handler = void (RequestHandler::*)(const RequestContext&, const shmd::v1::Request&, Reply&);
  struct Route {
    shmd::v1::Request::BodyCase body;  ///< the oneof case
    Handler handler;                   ///< its handler
  };
  /// One small handler per message, instead of a growing switch. A C array: its length is that
  /// of its initializer in request_handler.cpp, where a route is added.
  static const Route kRoutes[];  // NOLINT(modernize-avoid-c-arrays)

  Registry& registry_;                   ///< the segments
  std::string server_version_;           ///< reported by Hello
  std::function<void()> hold_listener_;  ///< told about new hold deadlines; may be empty
  EventHub events_;                      ///< the registry's event sink
};

}  // namespace shmd
