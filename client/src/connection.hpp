#pragma once
/// detail::Connection: the client's one stream to shmd, with request/response and fd receipt.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "fork_generation.hpp"
#include "shm/busy_poll.hpp"
#include "shm/error.hpp"
#include "shm/segment.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"

namespace shm::detail {

/// How long a reply may take by default. Generous: a socket-activated daemon may be starting.
inline constexpr std::chrono::milliseconds kDefaultReplyTimeout{30'000};

/// Records `message` as this thread's last error explanation (see shm::last_error_message()).
void set_last_error_message(std::string message);
/// Sets `ec` to `code` and records `message`; returns `ec`.
std::error_code& fail(std::error_code& ec, Errc code, std::string message);

/// A connection to shmd. Thread-safe (one request at a time). After fork(), the child's first
/// call reconnects instead of touching the parent's stream. If the daemon restarts, the next call
/// reconnects, re-registers every reference this process holds (Reattach), and retries once.
class Connection {
 public:
  /// Connects to `socket_path` and performs the Hello handshake.
  static std::shared_ptr<Connection> open(std::string socket_path, std::error_code& ec);

  /// Sends `request` and waits for its response. A daemon-side error becomes `ec` (with the
  /// daemon's message recorded). An fd that comes with the reply is closed: none should.
  void call(shmd::v1::Request& request, shmd::v1::Response& response, std::error_code& ec);
  /// The same for a request whose reply, unless it is an error, hands over a segment (an Attach,
  /// a Create without no_attach: the caller knows what it asked for, and the transport does not
  /// look): its fd lands in `segment_fd`, and a reply without one is Errc::protocol_error.
  void call(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd& segment_fd, std::error_code& ec);

  /// Records a reference held by a live Segment, so it can be re-registered after a restart.
  void track(std::uint64_t id);
  /// Forgets one tracked reference and has the daemon drop it. Does not reconnect for this:
  /// a lost connection took the reference with it.
  void detach(std::uint64_t id, std::error_code& ec);
  /// Like detach(), but sends a quiet Detach and does not wait: the daemon applies it before
  /// anything else this connection asks, and other connections see it a moment later.
  void release(std::uint64_t id) noexcept;

  /// Hands over the stream and the bytes read past the last reply (a Subscribe's events may
  /// follow it at once); this Connection is then closed.
  UniqueFd release_stream(wire::FrameDecoder& rest) noexcept;

  /// The socket path.
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_path_; }
  /// How long to wait for each reply before giving up with Errc::daemon_unavailable.
  void set_reply_timeout(std::chrono::milliseconds timeout) noexcept;
  /// How long to poll for each reply before sleeping until it comes (see shm/busy_poll.hpp).
  void set_busy_poll(std::chrono::microseconds window) noexcept;

 private:
  explicit Connection(std::string socket_path)
      : socket_path_(std::move(socket_path)), busy_poll_(usable_busy_poll(kDefaultBusyPoll)) {}
  void connect_locked(std::error_code& ec);
  /// Both call()s: takes the lock, connects if need be, and retries once after a lost connection.
  void round_trip(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd, std::error_code& ec);
  void send_locked(shmd::v1::Request& request, std::error_code& ec);
  /// Receives the reply to `request`; with `segment_fd`, the fd it hands over lands there.
  void receive_locked(const shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd,
                      std::error_code& ec);
  void exchange_locked(shmd::v1::Request& request, shmd::v1::Response& response, UniqueFd* segment_fd,
                       std::error_code& ec);
  void drop_locked() noexcept;
  /// Waits until a reply can be read; false once `deadline` passes.
  bool wait_readable_locked(std::chrono::steady_clock::time_point deadline) noexcept;
  void reattach_locked(std::error_code& ec);
  /// Forgets one tracked reference; false if it is not this process's to drop.
  bool untrack_locked(std::uint64_t id);

  std::mutex mutex_;                   ///< one request in flight
  std::string socket_path_;            ///< where the daemon listens
  UniqueFd socket_;                    ///< the stream, or empty when not connected
  unsigned generation_ = 0;            ///< fork_generation() of the process that opened socket_
  std::uint64_t next_request_id_ = 1;  ///< request ids, to match replies
  std::chrono::milliseconds reply_timeout_{kDefaultReplyTimeout};  ///< bound on each wait for a reply
  std::chrono::microseconds busy_poll_;                    ///< how long each wait for a reply polls before it sleeps
  wire::FrameDecoder decoder_{wire::kMaxFrameBytes};       ///< splits replies into frames
  std::vector<UniqueFd> pending_fds_;                      ///< fds received but not yet matched to a reply
  std::unordered_map<std::uint64_t, std::uint32_t> held_;  ///< segment id -> references this process holds
};

/// Builds Segments, whose constructor is private to the library.
struct SegmentAccess {
  /// A Segment that owns `mapping` and one reference held on `connection`.
  static Segment make(SegmentInfo info, Mapping mapping, std::shared_ptr<Connection> connection, bool read_only) {
    connection->track(info.id);
    return Segment(std::move(info), std::move(mapping), std::move(connection), read_only);
  }
  /// The connection on which this process holds `segment`'s reference, or nullptr when it holds
  /// none (an empty handle, or one inherited through fork(), whose reference is the parent's).
  static std::shared_ptr<Connection> holder(const Segment& segment) {
    if (!segment.valid() || segment.owner_generation_ != fork_generation()) return nullptr;
    return segment.connection_;
  }
};

}  // namespace shm::detail
