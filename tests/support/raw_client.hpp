#pragma once
/// RawClient: speaks the shmd wire protocol directly, below libshmclient, so tests can send
/// malformed frames and inspect the fds that come with replies.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shm/unique_fd.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"

namespace shm::test {

/// One Unix-socket connection to shmd with no protocol logic of its own: it frames what it is
/// given and decodes what comes back. Move-only.
class RawClient {
 public:
  /// A reply and the descriptors that arrived with it.
  using Reply = std::pair<shmd::v1::Response, std::vector<UniqueFd>>;

  /// Connects to `socket_path`; fails the test (ADD_FAILURE) and throws if it cannot.
  explicit RawClient(const std::string& socket_path);

  /// Sends `bytes` as they are; false if the daemon closed the connection (EPIPE/ECONNRESET).
  bool send_bytes(std::string_view bytes);
  /// Sends `request` as one length-delimited frame; false if the connection is closed.
  bool send_request(const shmd::v1::Request& request);
  /// Waits up to `timeout` for the next reply. nullopt on timeout, EOF, a broken frame or an
  /// unparsable payload (the last two also fail the test). Descriptors belong to the reply whose
  /// bytes they arrived with.
  std::optional<Reply> receive(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// Sends `request` and returns its reply, failing the test if none comes.
  std::optional<Reply> call(const shmd::v1::Request& request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// Sends a protocol-version-1 Hello and expects a reply without error.
  bool hello();
  /// True once the daemon has closed the connection (EOF or reset) within `timeout`; any bytes
  /// still arriving meanwhile are discarded.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// The socket, for tests that need raw access.
  [[nodiscard]] int fd() const noexcept { return socket_.get(); }

 private:
  /// Reads once (after waiting up to `timeout`); false on timeout, EOF or error.
  bool read_some(std::chrono::milliseconds timeout);

  UniqueFd socket_;             ///< the connection
  wire::FrameDecoder decoder_;  ///< reassembles reply frames
  std::vector<UniqueFd> fds_;   ///< descriptors received but not yet handed out
  bool eof_ = false;            ///< the daemon closed the connection
  std::uint64_t next_id_ = 1;   ///< request ids for call()/hello()
};

/// The reply's error code, or ERROR_CODE_UNSPECIFIED if it carries none (or there is no reply).
inline shmd::v1::ErrorCode error_of(const std::optional<RawClient::Reply>& reply) {
  return reply && reply->first.has_error() ? reply->first.error().code() : shmd::v1::ERROR_CODE_UNSPECIFIED;
}

}  // namespace shm::test
