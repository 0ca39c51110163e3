#pragma once
/// Registry: names, reference counts and lifetimes of all segments. Never sees a socket.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "shm/access_mode.hpp"
#include "shm/hold_start.hpp"
#include "shm/result.hpp"
#include "shmd/credentials.hpp"
#include "shmd/event_sink.hpp"
#include "shmd/limits.hpp"
#include "shmd/memory_headroom.hpp"
#include "shmd/segment_record.hpp"

namespace shmd {

/// Identifies one connection; references are held per connection.
using ClientId = std::uint64_t;

/// Most references one segment may have at once; far above real use, far below wrapping.
inline constexpr std::uint32_t kMaxReferences = 1U << 24;

/// The clock of hold deadlines: monotonic, so setting the wall clock neither ends nor prolongs a hold.
using HoldClock = std::chrono::steady_clock;
/// A hold's lifetime when the request says 0.
inline constexpr std::chrono::seconds kDefaultHoldLifetime{30};
/// The longest hold a request may ask for: a hold pins memory that no connection accounts for.
inline constexpr std::chrono::seconds kMaxHoldLifetime{600};

/// What a create asks for.
struct CreateParams {
  std::string_view name;              ///< the new segment's name
  char typecode = '\0';               ///< element typecode
  shm::Kind kind = shm::Kind::value;  ///< Value or Array
  std::uint64_t length = 0;           ///< 1 for a Value
  std::uint32_t mode = 0600;          ///< permission bits (<= 0777)
  bool ephemeral = false;             ///< remove at refcount zero
  std::string_view initial;           ///< empty or exactly the data bytes
  bool open_existing = false;         ///< attach if a matching segment exists
};

/// The outcome of a successful create.
struct CreateOutcome {
  const SegmentRecord* segment;  ///< the segment now referenced by the caller
  bool created;                  ///< false when open_existing attached instead
};

using shm::HoldStart;

/// The outcome of a successful hold.
struct HoldOutcome {
  std::uint64_t token;            ///< names the hold in a claim; random, never 0
  std::chrono::seconds lifetime;  ///< how long it waits to be claimed
  const SegmentRecord* segment;   ///< the held segment; refcount and holds include the new hold
};

/// The outcome of a successful attach that may claim a hold.
struct ClaimOutcome {
  const SegmentRecord* segment;  ///< the segment now referenced by the caller
  bool claimed;                  ///< true when a hold's reference became the caller's
};

/// Told about every change that must survive a daemon restart (see FdStore).
class RegistryObserver {
 public:
  virtual ~RegistryObserver() = default;
  /// A segment was created; its memfd is open in `record`.
  virtual void segment_created(const SegmentRecord& record) = 0;
  /// A segment's metadata changed (its mode).
  virtual void segment_updated(const SegmentRecord& record) = 0;
  /// A segment's name was taken away; it lives on while referenced.
  virtual void segment_removed(const SegmentRecord& record) = 0;
  /// A segment was released; its memfd is about to be closed.
  virtual void segment_freed(const SegmentRecord& record) = 0;
  /// A segment's references changed (and it was not released): its restorable_references() are
  /// what a restart must know.
  virtual void segment_references(const SegmentRecord& record) = 0;
  /// Whether a new segment can be kept across a restart; a create it refuses fails.
  [[nodiscard]] virtual shm::Result<void> keep_create() const { return {}; }
};

/// Owns every segment. A segment lives until removed; Remove takes the name away at once and
/// frees the memory with the last reference (SysV IPC_RMID semantics). Ephemeral segments are
/// removed when their last reference goes. References are counted per client, so a client that
/// disconnects can give all of its references back at once. A hold is one more reference that no
/// client owns: it outlives its taker's connection and ends when claimed or at its deadline.
class Registry {
 public:
  /// A registry that enforces `limits`.
  explicit Registry(Limits limits = {}) : limits_(limits) {}

  /// Creates a segment owned by `who` and gives `client` a reference to it. With open_existing,
  /// an existing segment needs read and write permission.
  shm::Result<CreateOutcome> create(ClientId client, const Credentials& who, const CreateParams& params);
  /// Gives `client` a reference to the live segment called `name`, if `who` may access it so.
  shm::Result<const SegmentRecord*> attach(ClientId client, const Credentials& who, std::string_view name,
                                           shm::AccessMode access);
  /// attach(), except that when `token` names a live hold of that same segment, the hold's
  /// reference becomes `client`'s instead of a new one being added (refcount unchanged). Any
  /// other token is no error: the attach then takes a reference of its own.
  shm::Result<ClaimOutcome> claim(ClientId client, const Credentials& who, std::string_view name,
                                  shm::AccessMode access, std::uint64_t token);
  /// Adds one reference to segment `id` that no client owns, for `seconds` (0: the default,
  /// more than kMaxHoldLifetime: invalid_argument) from `now`, or with HoldStart::at_close from
  /// when `client`'s connection closes, unless claimed first. `client` must hold a reference to
  /// `id` itself (else not_attached); `who.uid` may have at most max_holds_per_uid holds
  /// outstanding (else limit_exceeded).
  shm::Result<HoldOutcome> hold(ClientId client, const Credentials& who, std::uint64_t id, std::uint32_t seconds,
                                HoldClock::time_point now, HoldStart start = HoldStart::now);
  /// Ends every hold whose deadline is not after `now`, releasing what only a hold kept alive;
  /// returns how many ended.
  std::size_t expire_holds(HoldClock::time_point now);
  /// The earliest deadline of an outstanding hold, if any.
  [[nodiscard]] std::optional<HoldClock::time_point> next_hold_deadline() const;
  /// Outstanding holds in all.
  [[nodiscard]] std::size_t hold_count() const noexcept { return holds_.size(); }
  /// Outstanding holds taken by `uid`.
  [[nodiscard]] std::size_t holds_of(uid_t uid) const;
  /// Drops one of `client`'s references to segment `id`; returns the references left.
  shm::Result<std::uint32_t> detach(ClientId client, std::uint64_t id);
  /// Takes `name` away (owner or root only); true when the memory was freed at once. The
  /// segment's holds end with its name: a claim goes by name, so none could be claimed any more.
  shm::Result<bool> remove(const Credentials& who, std::string_view name);
  /// Notes that segment `id`'s fd went to a client in a create's reply (attach() and claim() note
  /// it themselves): from then on a remove tells its mappings through the header.
  void hand_out(std::uint64_t id);
  /// Sets bit 0 of segment `id`'s change word for `who`, a reader that cannot write it (see
  /// WatchRequest); needs the r bit, no reference. Returns the word afterwards.
  shm::Result<std::uint32_t> watch(const Credentials& who, std::uint64_t id) const;
  /// Changes the permission bits (owner or root only).
  shm::Result<const SegmentRecord*> chmod(const Credentials& who, std::string_view name, std::uint32_t mode);
  /// Drops every reference `client` holds (its connection closed). Holds it took stay; the
  /// lifetime of those that count from the close (HoldStart::at_close) starts at `now`. Returns
  /// how many holds got a deadline, which the caller's expiry timer must then cover.
  std::size_t drop_client(ClientId client, HoldClock::time_point now = HoldClock::now());
  /// Hands `client` `references` (0 means 1) of the references segment `id` (live or removed)
  /// had before a daemon restart and nobody has reattached yet, without an fd: a client
  /// re-registering mappings it kept across the restart. Needs read permission; refused whole
  /// (not_attached) for a segment that was not restored or has fewer unclaimed references.
  shm::Result<const SegmentRecord*> reattach(ClientId client, const Credentials& who, std::uint64_t id,
                                             std::uint32_t references);

  /// Adopts a segment recovered after a restart, which had `references` references when the
  /// daemon went down; they wait, unclaimed, for their clients to reattach them. Ephemeral and
  /// removed segments stay at least until sweep_unreferenced().
  shm::Result<const SegmentRecord*> restore(SegmentRecord record, std::uint32_t references);
  /// Ends the restore grace period: drops every unclaimed reference from before the restart,
  /// then releases every unreferenced segment that is ephemeral or removed; returns how many.
  std::size_t sweep_unreferenced();
  /// Reports creates, changes, removes, frees and reference counts to `observer` (nullptr:
  /// nobody); it must outlive the registry.
  void set_observer(RegistryObserver* observer) noexcept { observer_ = observer; }
  /// Reports every change subscribers may follow (created, removed, freed, mode and reference
  /// changes) to `sink` (nullptr: nobody); it must outlive the registry or be unset first.
  void set_event_sink(EventSink* sink) noexcept { events_ = sink; }

  /// True when `who` may access `segment` so (SysV rules: owner, group or other bits; root always).
  [[nodiscard]] static bool permits(const Credentials& who, const SegmentRecord& segment,
                                    shm::AccessMode access) noexcept;
  /// permits(), as if `segment` had the permission bits `mode` (what a Chmod changed them from).
  [[nodiscard]] static bool permits(const Credentials& who, const SegmentRecord& segment, std::uint32_t mode,
                                    shm::AccessMode access) noexcept;

  /// The live segment called `name`, or nullptr.
  [[nodiscard]] const SegmentRecord* find(std::string_view name) const;
  /// The live segment called `name`; invalid_argument for a malformed name (never echoed back),
  /// not_found if there is none.
  [[nodiscard]] shm::Result<const SegmentRecord*> lookup(std::string_view name) const;
  /// Calls `fn` for each segment (live or removed-but-referenced) ordered by (name, id) and
  /// strictly after (`after_name`, `after_id`), until `fn` returns false.
  void for_each_after(std::string_view after_name, std::uint64_t after_id,
                      const std::function<bool(const SegmentRecord&)>& fn) const;

  /// Segments currently held (including removed ones still referenced).
  [[nodiscard]] std::size_t segment_count() const noexcept { return by_id_.size(); }
  /// Sum of the mapping bytes of every held segment.
  [[nodiscard]] std::uint64_t total_bytes() const noexcept { return total_bytes_; }
  /// Mapping bytes and segments charged to `uid`'s quota.
  [[nodiscard]] std::pair<std::uint64_t, std::size_t> usage(uid_t uid) const;
  /// The limits in force.
  [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
  /// Whether creates give large segments huge pages (create_segment_memfd; on unless turned off).
  void set_huge_pages(bool on) noexcept { huge_pages_ = on; }

 private:
  using OrderKey = std::pair<std::string, std::uint64_t>;
  /// Lets live_names_ be searched with a string_view, without building a string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  [[nodiscard]] shm::Result<void> check_create(const Credentials& who, const CreateParams& params,
                                               const shm::SegmentSizes& sizes) const;
  [[nodiscard]] shm::Result<void> add_references(ClientId client, SegmentRecord& record);
  /// Releases `record` if nothing references it and it is ephemeral or removed; true if it did
  /// (`record` is then gone).
  bool release_if_unreferenced(SegmentRecord& record);
  /// After `record`'s references() went down: releases it, or tells the observer the new count.
  void references_dropped(SegmentRecord& record);
  void report_references(const SegmentRecord& record);
  /// Tells the event sink, if any, that `kind` happened to `record`.
  void emit(EventKind kind, const SegmentRecord& record) const { emit(kind, record, record.mode); }
  void emit(EventKind kind, const SegmentRecord& record, std::uint32_t previous_mode) const;
  shm::Result<SegmentRecord*> attachable(const Credentials& who, std::string_view name, shm::AccessMode access);
  /// One outstanding hold.
  struct Hold {
    std::uint64_t segment;              ///< the held segment's id
    uid_t uid;                          ///< who took it, for max-holds-per-uid
    HoldClock::time_point deadline;     ///< when it ends unless claimed; not yet set while `waits_for` is
    std::chrono::seconds lifetime;      ///< from the request, or from the close of `waits_for`
    std::optional<ClientId> waits_for;  ///< the open connection whose close starts the lifetime
  };
  using HoldMap = std::unordered_map<std::uint64_t, Hold>;
  /// Forgets one hold of `record`; its reference (still in refcount) is the caller's to move or release.
  void forget_hold(HoldMap::iterator hold, SegmentRecord& record);
  void release_holds_of(SegmentRecord& record);
  void take_name(SegmentRecord& record);
  shm::Result<SegmentRecord*> live(std::string_view name);
  shm::Result<SegmentRecord*> live_for_owner(const Credentials& who, std::string_view name, const char* what);

  /// What one uid holds, for quotas.
  struct Usage {
    std::uint64_t bytes = 0;   ///< mapping bytes
    std::size_t segments = 0;  ///< segments
  };

  Limits limits_;                                           ///< enforced on create
  bool huge_pages_ = true;                                  ///< huge pages for large segments
  RegistryObserver* observer_ = nullptr;                    ///< persistence, if any
  EventSink* events_ = nullptr;                             ///< event subscribers, if any
  MemoryHeadroom headroom_;                                 ///< refuses creates memory cannot back
  std::uint64_t next_id_ = 1;                               ///< ids are never reused
  std::uint64_t total_bytes_ = 0;                           ///< sum of mapping_bytes
  std::unordered_map<std::uint64_t, SegmentRecord> by_id_;  ///< every held segment
  std::unordered_map<std::string, std::uint64_t, NameHash, std::equal_to<>> live_names_;  ///< name -> id, live only
  std::map<OrderKey, std::uint64_t> ordered_;  ///< (name, id) -> id, for listing
  std::unordered_map<ClientId, std::unordered_map<std::uint64_t, std::uint32_t>> refs_;  ///< per-client counts
  std::unordered_map<uid_t, Usage> usage_;                                               ///< quota use per creator uid
  HoldMap holds_;                                                                        ///< token -> outstanding hold
  std::unordered_map<ClientId, std::vector<std::uint64_t>>
      holds_at_close_;  ///< connection -> tokens of holds waiting for its close
  std::set<std::pair<HoldClock::time_point, std::uint64_t>> hold_deadlines_;  ///< (deadline, token), earliest first
  std::unordered_map<uid_t, std::size_t> holds_per_uid_;                      ///< outstanding holds per taker uid
};

}  // namespace shmd
