#pragma once
/// Client: a connection to shmd, and the way to create, attach, list and remove segments.
///
/// Errors: every operation has a `std::error_code&` overload that never throws (codes are
/// shm::Errc in shm_category(); the daemon's explanation is in last_error_message()), and a
/// throwing overload that throws shm::Error whose what() includes that explanation.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "shm/array.hpp"
#include "shm/default_socket_path.hpp"
#include "shm/error.hpp"
#include "shm/hold_start.hpp"
#include "shm/segment.hpp"
#include "shm/segment_info.hpp"
#include "shm/subscription.hpp"
#include "shm/typecode.hpp"
#include "shm/value.hpp"

namespace shm {

/// The explanation that came with the last error on this thread (daemon message or local detail).
const std::string& last_error_message() noexcept;

/// Everything needed to create a segment without a C++ element type (shmctl uses this).
struct SegmentSpec {
  char typecode = 'i';                 ///< one of c b B u h H i I l L q Q f d
  Kind kind = Kind::value;             ///< Value (length 1) or Array
  std::uint64_t length = 1;            ///< number of elements
  std::span<const std::byte> initial;  ///< empty (zeroed) or exactly length * element size bytes
  CreateOptions options;               ///< mode, ephemeral, open_existing
};

/// A connection to shmd. Cheap to copy: copies share one connection, which lives as long as any
/// copy or any Segment attached through it. Thread-safe. Fork-safe: after fork() the child's
/// first call opens a connection of its own and never touches the parent's stream.
class Client {
 public:
  /// Connects to the daemon at `socket_path` and checks the protocol version; throws shm::Error.
  explicit Client(std::string socket_path = default_socket_path());
  /// Same, reporting failure (e.g. Errc::daemon_unavailable) in `ec` instead of throwing.
  Client(std::string socket_path, std::error_code& ec);

  /// The socket this client talks to.
  [[nodiscard]] const std::string& socket_path() const noexcept;
  /// Bounds each wait for a reply (default 30 s); past it a call fails with
  /// Errc::daemon_unavailable instead of hanging on a daemon that does not answer.
  void set_reply_timeout(std::chrono::milliseconds timeout) noexcept;
  /// How long each wait for a reply keeps polling before it sleeps (default 50 us; 0 turns it
  /// off; at most 10 ms; off where the process may use one CPU only). Polling spends up to that
  /// much CPU time per request to skip the wake-up of an idle CPU, which on a virtual machine
  /// costs more than the request (docs/performance.md, "Busy polling").
  void set_busy_poll(std::chrono::microseconds window) noexcept;

  /// Creates a segment (or opens it, with options.open_existing) and maps it.
  Segment create(std::string_view name, const SegmentSpec& spec, std::error_code& ec);
  /// Throwing form of create().
  Segment create(std::string_view name, const SegmentSpec& spec);
  /// Creates a segment (or, with options.open_existing, checks an existing one) without
  /// attaching: no reference, no mapping, no fd (SysV `shmget` without `shmat`). For admin tools.
  /// Errc::invalid_argument with options.ephemeral, which would vanish at once.
  SegmentInfo create_detached(std::string_view name, const SegmentSpec& spec, std::error_code& ec);
  /// Throwing form of create_detached().
  SegmentInfo create_detached(std::string_view name, const SegmentSpec& spec);
  /// Attaches to an existing segment by name and maps it read-write (needs the r and w bits).
  Segment attach(std::string_view name, std::error_code& ec);
  /// Attaches with `mode`; read_only needs only the r bit and maps PROT_READ.
  Segment attach(std::string_view name, AccessMode mode, std::error_code& ec);
  /// Throwing form of attach().
  Segment attach(std::string_view name, AccessMode mode = AccessMode::read_write);
  /// Has shmd keep one more reference to `segment`, owned by no connection, for `grace` (zero:
  /// 30 s; at most 600 s) or until a receiver claims it, so the segment outlives every handle, and
  /// this process, in between. Returns the token to give the receiver (never 0). The reference is
  /// taken on the connection `segment` is attached through, which must hold it: a Segment that
  /// this process inherited through fork() fails with Errc::not_attached. Errc::limit_exceeded
  /// past the daemon's max-holds-per-uid.
  std::uint64_t hold(const Segment& segment, std::chrono::seconds grace, std::error_code& ec);
  /// hold(), with `grace` counted from `start`: HoldStart::at_close counts it from the close of
  /// this process's connection, so the hold cannot expire while this Client is connected.
  std::uint64_t hold(const Segment& segment, std::chrono::seconds grace, HoldStart start, std::error_code& ec);
  /// Throwing form of hold().
  std::uint64_t hold(const Segment& segment, std::chrono::seconds grace = std::chrono::seconds(0),
                     HoldStart start = HoldStart::now);
  /// attach(name, mode), also taking over the hold that `token` names (Client::hold) if it is a
  /// live hold of that same segment: the hold's reference becomes this Segment's, so the refcount
  /// does not grow. A token that is expired, claimed already, unknown or another segment's is no
  /// error: the attach then takes a reference of its own. A segment that is gone is not_found.
  Segment claim(std::string_view name, std::uint64_t token, AccessMode mode, std::error_code& ec);
  /// Throwing form of claim().
  Segment claim(std::string_view name, std::uint64_t token, AccessMode mode = AccessMode::read_write);
  /// Removes the name now; the memory goes when the last reference is dropped (like IPC_RMID).
  void remove(std::string_view name, std::error_code& ec);
  /// Throwing form of remove().
  void remove(std::string_view name);
  /// Changes the permission bits (owner or root only); returns the updated metadata.
  SegmentInfo chmod(std::string_view name, std::uint32_t mode, std::error_code& ec);
  /// Throwing form of chmod().
  SegmentInfo chmod(std::string_view name, std::uint32_t mode);
  /// Metadata for one segment (needs the r bit).
  SegmentInfo info(std::string_view name, std::error_code& ec);
  /// Throwing form of info().
  SegmentInfo info(std::string_view name);
  /// Every live segment, sorted by name (fetched page by page).
  std::vector<SegmentInfo> list(std::error_code& ec);
  /// Throwing form of list().
  std::vector<SegmentInfo> list();
  /// Follows the registry's events on a new connection of the Subscription's own (this Client's
  /// is not used after the handshake). Errc::invalid_argument for a prefix no name could start with.
  Subscription subscribe(const SubscribeOptions& options, std::error_code& ec);
  /// Throwing form of subscribe().
  Subscription subscribe(const SubscribeOptions& options = {});

  /// Creates a Value holding `initial`.
  template <Element T>
  Value<T> create_value(std::string_view name, T initial, const CreateOptions& options, std::error_code& ec) {
    return Value<T>(create(name, spec_of<T>(Kind::value, 1, {&initial, 1}, options), ec));
  }
  /// Throwing form of create_value().
  template <Element T>
  Value<T> create_value(std::string_view name, T initial = T{}, const CreateOptions& options = {}) {
    return Value<T>(create(name, spec_of<T>(Kind::value, 1, {&initial, 1}, options)));
  }
  /// Attaches to a Value whose typecode fits T; Errc::type_mismatch otherwise.
  /// `attach_value<const T>` attaches read-only (only the r bit needed; no store, no lock).
  template <Element T>
  Value<T> attach_value(std::string_view name, std::error_code& ec) {
    return Value<T>(typed_attach<T>(name, Kind::value, ec));
  }
  /// Throwing form of attach_value().
  template <Element T>
  Value<T> attach_value(std::string_view name) {
    std::error_code ec;
    auto v = attach_value<T>(name, ec);
    throw_if(ec, "attach_value", name);
    return v;
  }

  /// claim() of a Value whose typecode fits T; Errc::type_mismatch otherwise, and then the
  /// reference it took is dropped again (a claimed hold is spent). `claim_value<const T>`
  /// attaches read-only.
  template <Element T>
  Value<T> claim_value(std::string_view name, std::uint64_t token, std::error_code& ec) {
    return Value<T>(typed_claim<T>(name, token, Kind::value, ec));
  }
  /// Throwing form of claim_value().
  template <Element T>
  Value<T> claim_value(std::string_view name, std::uint64_t token) {
    std::error_code ec;
    auto v = claim_value<T>(name, token, ec);
    throw_if(ec, "claim_value", name);
    return v;
  }

  /// Creates a zeroed Array of `length` elements.
  template <Element T>
  Array<T> create_array(std::string_view name, std::size_t length, const CreateOptions& options, std::error_code& ec) {
    return Array<T>(create(name, spec_of<T>(Kind::array, length, {}, options), ec));
  }
  /// Throwing form of create_array().
  template <Element T>
  Array<T> create_array(std::string_view name, std::size_t length, const CreateOptions& options = {}) {
    return Array<T>(create(name, spec_of<T>(Kind::array, length, {}, options)));
  }
  /// Creates an Array holding a copy of `initial` (its length is the array's length).
  template <Element T>
  Array<T> create_array(std::string_view name, std::span<const T> initial, const CreateOptions& options,
                        std::error_code& ec) {
    return Array<T>(create(name, spec_of<T>(Kind::array, initial.size(), initial, options), ec));
  }
  /// Throwing form of create_array() with initial contents.
  template <Element T>
  Array<T> create_array(std::string_view name, std::span<const T> initial, const CreateOptions& options = {}) {
    return Array<T>(create(name, spec_of<T>(Kind::array, initial.size(), initial, options)));
  }
  /// Attaches to an Array whose typecode fits T; Errc::type_mismatch otherwise.
  /// `attach_array<const T>` attaches read-only.
  template <Element T>
  Array<T> attach_array(std::string_view name, std::error_code& ec) {
    return Array<T>(typed_attach<T>(name, Kind::array, ec));
  }
  /// Throwing form of attach_array().
  template <Element T>
  Array<T> attach_array(std::string_view name) {
    std::error_code ec;
    auto a = attach_array<T>(name, ec);
    throw_if(ec, "attach_array", name);
    return a;
  }
  /// claim() of an Array whose typecode fits T; Errc::type_mismatch as claim_value().
  /// `claim_array<const T>` attaches read-only.
  template <Element T>
  Array<T> claim_array(std::string_view name, std::uint64_t token, std::error_code& ec) {
    return Array<T>(typed_claim<T>(name, token, Kind::array, ec));
  }
  /// Throwing form of claim_array().
  template <Element T>
  Array<T> claim_array(std::string_view name, std::uint64_t token) {
    std::error_code ec;
    auto a = claim_array<T>(name, token, ec);
    throw_if(ec, "claim_array", name);
    return a;
  }

 private:
  template <Element T>
  static SegmentSpec spec_of(Kind kind, std::size_t length, std::span<const T> initial, const CreateOptions& options) {
    return SegmentSpec{typecode_of<T>, kind, length, std::as_bytes(initial), options};
  }
  template <Element T>
  Segment typed_attach(std::string_view name, Kind kind, std::error_code& ec) {
    Segment s = attach(name, std::is_const_v<T> ? AccessMode::read_only : AccessMode::read_write, ec);
    if (!ec) check_type(s, typecode_accepts<T>(s.typecode()), kind, typecode_of<std::remove_cv_t<T>>, ec);
    return ec ? Segment{} : std::move(s);
  }
  template <Element T>
  Segment typed_claim(std::string_view name, std::uint64_t token, Kind kind, std::error_code& ec) {
    Segment s = claim(name, token, std::is_const_v<T> ? AccessMode::read_only : AccessMode::read_write, ec);
    if (!ec) check_type(s, typecode_accepts<T>(s.typecode()), kind, typecode_of<std::remove_cv_t<T>>, ec);
    return ec ? Segment{} : std::move(s);
  }
  static void check_type(const Segment& s, bool type_ok, Kind kind, char wanted, std::error_code& ec);
  static void throw_if(const std::error_code& ec, std::string_view op, std::string_view name);

  std::shared_ptr<detail::Connection> connection_;  ///< shared with every Segment attached through it
};

}  // namespace shm
