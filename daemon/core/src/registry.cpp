#include "shmd/registry.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "shm/names.hpp"
#include "shm/octal_mode.hpp"
#include "shm/typecode.hpp"
#include "shmd/segment_memory.hpp"

namespace shmd {
namespace {

using shm::Errc;

std::int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 64 bits from the kernel's CSPRNG: a token is a capability, so it must not be guessable from
// the ones a client has seen. Blocks only until the pool is first seeded at boot.
shm::Result<std::uint64_t> random_u64() {
  std::uint64_t value = 0;
  auto* out = reinterpret_cast<unsigned char*>(&value);
  for (std::size_t got = 0; got < sizeof value;) {
    const ssize_t n = ::getrandom(out + got, sizeof value - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return shm::fail(Errc::internal, std::string("cannot draw a hold token: getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  return value;
}

}  // namespace

shm::Result<void> Registry::check_create(const Credentials& who, const CreateParams& p,
                                         const shm::SegmentSizes& sizes) const {
  if (p.mode > 0777)
    return shm::fail(Errc::invalid_argument, "mode " + shm::octal_mode(p.mode) + " has bits beyond 0777");
  if (!p.initial.empty() && p.initial.size() != sizes.data_bytes)
    return shm::fail(Errc::invalid_argument, "initial data is " + std::to_string(p.initial.size()) +
                                                 " bytes; the segment holds " + std::to_string(sizes.data_bytes));
  if (sizes.data_bytes > limits_.max_segment_bytes)
    return shm::fail(Errc::limit_exceeded, "segment of " + std::to_string(sizes.data_bytes) +
                                               " bytes exceeds max-segment-bytes (" +
                                               std::to_string(limits_.max_segment_bytes) + ")");
  if (by_id_.size() >= limits_.max_segments)
    return shm::fail(Errc::limit_exceeded,
                     "max-segments (" + std::to_string(limits_.max_segments) + ") segments exist already");
  if (sizes.mapping_bytes > limits_.max_total_bytes - std::min(total_bytes_, limits_.max_total_bytes))
    return shm::fail(Errc::limit_exceeded,
                     "segment of " + std::to_string(sizes.mapping_bytes) + " bytes would exceed max-total-bytes (" +
                         std::to_string(limits_.max_total_bytes) + ", " + std::to_string(total_bytes_) + " in use)");
  if (!who.privileged()) {
    const auto [bytes, segments] = usage(who.uid);
    if (segments >= limits_.max_segments_per_uid)
      return shm::fail(Errc::limit_exceeded, "uid " + std::to_string(who.uid) + " already holds " +
                                                 std::to_string(segments) +
                                                 " segments, its quota (max-segments-per-uid)");
    if (sizes.mapping_bytes > limits_.max_bytes_per_uid - std::min(bytes, limits_.max_bytes_per_uid))
      return shm::fail(Errc::limit_exceeded,
                       "segment of " + std::to_string(sizes.mapping_bytes) + " bytes would exceed uid " +
                           std::to_string(who.uid) + "'s quota (max-bytes-per-uid " +
                           std::to_string(limits_.max_bytes_per_uid) + ", " + std::to_string(bytes) + " in use)");
  }
  return {};
}

bool Registry::permits(const Credentials& who, const SegmentRecord& segment, shm::AccessMode access) noexcept {
  return permits(who, segment, segment.mode, access);
}

bool Registry::permits(const Credentials& who, const SegmentRecord& segment, std::uint32_t mode,
                       shm::AccessMode access) noexcept {
  if (who.privileged()) return true;
  const std::uint32_t want = shm::required_permission_bits(access);
  std::uint32_t granted;
  if (who.uid == segment.creator.uid) {
    granted = mode >> 6;
  } else if (who.in_group(segment.creator.gid)) {
    granted = mode >> 3;
  } else {
    granted = mode;
  }
  return (granted & want) == want;
}

std::pair<std::uint64_t, std::size_t> Registry::usage(uid_t uid) const {
  auto it = usage_.find(uid);
  return it == usage_.end() ? std::pair<std::uint64_t, std::size_t>{0, 0}
                            : std::pair{it->second.bytes, it->second.segments};
}

shm::Result<CreateOutcome> Registry::create(ClientId client, const Credentials& who, const CreateParams& p) {
  if (auto named = shm::check_segment_name(p.name, limits_.max_name_length); !named) return named.failure();
  const auto type = shm::type_info(p.typecode);
  if (!type) return shm::fail(Errc::invalid_argument, "unknown typecode; use one of c b B u h H i I l L q Q f d");
  if (p.kind == shm::Kind::value && p.length != 1)
    return shm::fail(Errc::invalid_argument, "a Value has length 1, not " + std::to_string(p.length));
  if (p.kind == shm::Kind::array && p.length == 0)
    return shm::fail(Errc::invalid_argument, "an Array needs length >= 1");
  const auto sizes = shm::segment_sizes(type->size, p.length, p.kind);
  if (!sizes)
    return shm::fail(Errc::limit_exceeded, "length " + std::to_string(p.length) + " overflows the segment size");

  if (auto it = live_names_.find(p.name); it != live_names_.end()) {
    SegmentRecord& existing = by_id_.at(it->second);
    if (!p.open_existing) return shm::fail(Errc::already_exists, "segment '" + existing.name + "' already exists");
    if (!permits(who, existing, shm::AccessMode::read_write))
      return shm::fail(
          Errc::permission_denied,
          "segment '" + existing.name + "' exists and is not readable and writable by uid " + std::to_string(who.uid));
    if (existing.typecode != p.typecode || existing.kind != p.kind || existing.length != p.length)
      return shm::fail(Errc::type_mismatch, "segment '" + existing.name + "' exists with typecode '" +
                                                std::string(1, existing.typecode) + "' and length " +
                                                std::to_string(existing.length));
    if (auto added = add_references(client, existing); !added) return added.failure();
    report_references(existing);
    emit(EventKind::attached, existing);
    return CreateOutcome{&existing, false};
  }

  if (auto allowed = check_create(who, p, *sizes); !allowed) return allowed.failure();
  if (observer_ != nullptr)
    if (auto kept = observer_->keep_create(); !kept) return kept.failure();
  if (auto admitted = headroom_.admit(sizes->mapping_bytes); !admitted) return admitted.failure();

  SegmentRecord record;
  record.id = next_id_;
  record.name = std::string(p.name);
  record.typecode = p.typecode;
  record.kind = p.kind;
  record.length = p.length;
  record.element_size = static_cast<std::uint32_t>(type->size);
  record.sizes = *sizes;
  record.creator = who;
  record.mode = p.mode;
  record.ephemeral = p.ephemeral;
  record.created_unix_ns = now_unix_ns();
  auto memfd = create_segment_memfd(record, p.initial, huge_pages_);
  if (!memfd) return memfd.failure();
  record.memfd = std::move(memfd.value());

  ++next_id_;
  total_bytes_ += record.sizes.mapping_bytes;
  Usage& used = usage_[record.creator.uid];
  used.bytes += record.sizes.mapping_bytes;
  ++used.segments;
  const std::uint64_t id = record.id;
  live_names_.emplace(record.name, id);
  ordered_.emplace(OrderKey{record.name, id}, id);
  SegmentRecord& stored = by_id_.emplace(id, std::move(record)).first->second;
  (void)add_references(client, stored);  // a new segment has room for one; its creation record counts it
  if (observer_ != nullptr) observer_->segment_created(stored);
  emit(EventKind::created, stored);
  return CreateOutcome{&stored, true};
}

shm::Result<const SegmentRecord*> Registry::lookup(std::string_view name) const {
  if (auto named = shm::check_segment_name(name, limits_.max_name_length); !named) return named.failure();
  auto it = live_names_.find(name);
  if (it == live_names_.end()) return shm::fail(Errc::not_found, "no segment named '" + std::string(name) + "'");
  return &by_id_.at(it->second);
}

shm::Result<SegmentRecord*> Registry::live(std::string_view name) {
  auto found = lookup(name);
  if (!found) return found.failure();
  return const_cast<SegmentRecord*>(found.value());  // we own it; lookup() is the const view
}

shm::Result<SegmentRecord*> Registry::attachable(const Credentials& who, std::string_view name,
                                                 shm::AccessMode access) {
  auto found = live(name);
  if (!found) return found.failure();
  SegmentRecord& record = *found.value();
  // Name the access that was asked for: a reader refused for "writing" would not know why.
  if (!permits(who, record, access))
    return shm::fail(Errc::permission_denied,
                     "segment '" + record.name + "' (mode " + shm::octal_mode(record.mode) + ") may not be attached " +
                         (access == shm::AccessMode::read_write ? "read-write (that needs the r and w bits)"
                                                                : "read-only (that needs the r bit)") +
                         " by uid " + std::to_string(who.uid));
  return &record;
}

shm::Result<const SegmentRecord*> Registry::attach(ClientId client, const Credentials& who, std::string_view name,
                                                   shm::AccessMode access) {
  auto found = attachable(who, name, access);
  if (!found) return found.failure();
  if (auto added = add_references(client, *found.value()); !added) return added.failure();
  found.value()->handed_out = true;  // the caller passes its fd
  report_references(*found.value());
  emit(EventKind::attached, *found.value());
  return &std::as_const(*found.value());
}

shm::Result<ClaimOutcome> Registry::claim(ClientId client, const Credentials& who, std::string_view name,
                                          shm::AccessMode access, std::uint64_t token) {
  auto found = attachable(who, name, access);
  if (!found) return found.failure();
  SegmentRecord& record = *found.value();
  record.handed_out = true;  // the caller passes its fd (if it cannot, the mark only costs a map at remove)
  auto held = token == 0 ? holds_.end() : holds_.find(token);
  if (held == holds_.end() || held->second.segment != record.id) {
    // Expired, claimed already, never issued, or another segment's: the attach stands on its own.
    if (auto added = add_references(client, record); !added) return added.failure();
    report_references(record);
    emit(EventKind::attached, record);
    return ClaimOutcome{&record, false};
  }
  forget_hold(held, record);
  refs_[client][record.id] += 1;  // the hold's reference, moved: refcount stays as it was
  report_references(record);      // but a restart would now hand it back to this client
  return ClaimOutcome{&record, true};
}

shm::Result<HoldOutcome> Registry::hold(ClientId client, const Credentials& who, std::uint64_t id,
                                        std::uint32_t seconds, HoldClock::time_point now, HoldStart start) {
  const std::chrono::seconds lifetime = seconds == 0 ? kDefaultHoldLifetime : std::chrono::seconds(seconds);
  if (lifetime > kMaxHoldLifetime)
    return shm::fail(Errc::invalid_argument, "a hold of " + std::to_string(seconds) + " seconds is longer than the " +
                                                 std::to_string(kMaxHoldLifetime.count()) + " allowed");
  auto held = refs_.find(client);
  if (held == refs_.end() || !held->second.contains(id))
    return shm::fail(Errc::not_attached, "this connection holds no reference to segment id " + std::to_string(id) +
                                             ", so it may not hold it");
  SegmentRecord& record = by_id_.at(id);
  if (const std::size_t taken = holds_of(who.uid); taken >= limits_.max_holds_per_uid)
    return shm::fail(Errc::limit_exceeded,
                     "uid " + std::to_string(who.uid) + " already has " + std::to_string(taken) +
                         " holds outstanding, its limit (max-holds-per-uid); a hold ends when it is "
                         "claimed or its seconds pass");
  if (record.references() >= kMaxReferences)
    return shm::fail(Errc::limit_exceeded,
                     "segment '" + record.name + "' would exceed " + std::to_string(kMaxReferences) + " references");
  std::uint64_t token = 0;
  while (token == 0 || holds_.contains(token)) {
    const auto drawn = random_u64();
    if (!drawn) return drawn.failure();
    token = drawn.value();
  }
  if (start == HoldStart::at_close) {
    holds_.emplace(token, Hold{id, who.uid, HoldClock::time_point::max(), lifetime, client});
    holds_at_close_[client].push_back(token);
  } else {
    const HoldClock::time_point deadline = now + lifetime;
    holds_.emplace(token, Hold{id, who.uid, deadline, lifetime, std::nullopt});
    hold_deadlines_.emplace(deadline, token);
  }
  ++holds_per_uid_[who.uid];
  ++record.holds;
  ++record.refcount;
  emit(EventKind::attached, record);
  return HoldOutcome{token, lifetime, &std::as_const(record)};
}

void Registry::forget_hold(HoldMap::iterator hold, SegmentRecord& record) {
  --record.holds;
  if (const auto& waits_for = hold->second.waits_for) {
    auto& tokens = holds_at_close_.at(*waits_for);
    std::erase(tokens, hold->first);
    if (tokens.empty()) holds_at_close_.erase(*waits_for);
  } else {
    hold_deadlines_.erase({hold->second.deadline, hold->first});
  }
  if (auto taker = holds_per_uid_.find(hold->second.uid); taker != holds_per_uid_.end() && --taker->second == 0)
    holds_per_uid_.erase(taker);
  holds_.erase(hold);
}

std::size_t Registry::expire_holds(HoldClock::time_point now) {
  std::size_t ended = 0;
  while (!hold_deadlines_.empty() && hold_deadlines_.begin()->first <= now) {
    auto held = holds_.find(hold_deadlines_.begin()->second);
    SegmentRecord& record = by_id_.at(held->second.segment);
    forget_hold(held, record);
    --record.refcount;
    emit(EventKind::detached, record);
    (void)release_if_unreferenced(record);  // a restart would not restore a hold: nothing to record otherwise
    ++ended;
  }
  return ended;
}

void Registry::release_holds_of(SegmentRecord& record) {
  for (auto it = holds_.begin(); record.holds > 0 && it != holds_.end();) {
    auto next = std::next(it);
    if (it->second.segment == record.id) {
      forget_hold(it, record);
      --record.refcount;
      emit(EventKind::detached, record);
    }
    it = next;
  }
}

std::optional<HoldClock::time_point> Registry::next_hold_deadline() const {
  if (hold_deadlines_.empty()) return std::nullopt;
  return hold_deadlines_.begin()->first;
}

std::size_t Registry::holds_of(uid_t uid) const {
  auto it = holds_per_uid_.find(uid);
  return it == holds_per_uid_.end() ? 0 : it->second;
}

shm::Result<std::uint32_t> Registry::detach(ClientId client, std::uint64_t id) {
  auto held = refs_.find(client);
  if (held == refs_.end() || !held->second.contains(id))
    return shm::fail(Errc::not_attached, "this connection holds no reference to segment id " + std::to_string(id));
  auto count = held->second.find(id);
  if (--count->second == 0) held->second.erase(count);
  if (held->second.empty()) refs_.erase(held);
  SegmentRecord& record = by_id_.at(id);
  const std::uint32_t left = --record.refcount;
  emit(EventKind::detached, record);
  references_dropped(record);
  return left;
}

shm::Result<SegmentRecord*> Registry::live_for_owner(const Credentials& who, std::string_view name, const char* what) {
  auto found = live(name);
  if (!found) return found.failure();
  SegmentRecord& record = *found.value();
  if (!who.privileged() && who.uid != record.creator.uid)
    return shm::fail(Errc::permission_denied, std::string("only the owner (uid ") + std::to_string(record.creator.uid) +
                                                  ") or root may " + what + " segment '" + record.name + "'");
  return &record;
}

shm::Result<bool> Registry::remove(const Credentials& who, std::string_view name) {
  auto found = live_for_owner(who, name, "remove");
  if (!found) return found.failure();
  SegmentRecord& record = *found.value();
  take_name(record);
  release_holds_of(record);
  return release_if_unreferenced(record);
}

shm::Result<const SegmentRecord*> Registry::chmod(const Credentials& who, std::string_view name, std::uint32_t mode) {
  if (mode > 0777) return shm::fail(Errc::invalid_argument, "mode " + shm::octal_mode(mode) + " has bits beyond 0777");
  auto found = live_for_owner(who, name, "change the mode of");
  if (!found) return found.failure();
  const std::uint32_t previous = found.value()->mode;
  found.value()->mode = mode;
  if (observer_ != nullptr) observer_->segment_updated(*found.value());
  emit(EventKind::mode_changed, *found.value(), previous);
  return &std::as_const(*found.value());
}

std::size_t Registry::drop_client(ClientId client, HoldClock::time_point now) {
  std::size_t started = 0;
  if (auto waiting = holds_at_close_.find(client); waiting != holds_at_close_.end()) {
    for (const std::uint64_t token : waiting->second) {
      Hold& h = holds_.at(token);
      h.deadline = now + h.lifetime;
      h.waits_for.reset();
      hold_deadlines_.emplace(h.deadline, token);
    }
    started = waiting->second.size();
    holds_at_close_.erase(waiting);
  }
  auto held = refs_.find(client);
  if (held == refs_.end()) return started;
  auto counts = std::move(held->second);
  refs_.erase(held);
  for (const auto& [id, count] : counts) {
    SegmentRecord& record = by_id_.at(id);
    record.refcount -= count;
    emit(EventKind::detached, record);
    references_dropped(record);
  }
  return started;
}

shm::Result<const SegmentRecord*> Registry::reattach(ClientId client, const Credentials& who, std::uint64_t id,
                                                     std::uint32_t references) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return shm::fail(Errc::not_found, "no segment with id " + std::to_string(id));
  SegmentRecord& record = it->second;
  const std::string segment = "segment '" + record.name + "' (id " + std::to_string(id);
  if (!permits(who, record, shm::AccessMode::read_only))
    return shm::fail(Errc::permission_denied, segment + ", mode " + shm::octal_mode(record.mode) +
                                                  ") is not readable by uid " + std::to_string(who.uid));
  // Only references the daemon counted before it went down can be claimed, and each only once:
  // anything more would let a reader keep any segment's memory alive for as long as it likes.
  const std::uint32_t wanted = std::max(references, 1U);
  if (wanted > record.unclaimed) {
    const std::string asked = "; this Reattach asked for " + std::to_string(wanted);
    if (!record.restored)
      return shm::fail(Errc::not_attached, segment +
                                               ") was not restored after a daemon restart, so it has 0 unclaimed "
                                               "references from before one" +
                                               asked);
    return shm::fail(Errc::not_attached, segment + ") has " + std::to_string(record.unclaimed) +
                                             " unclaimed references from before the daemon restarted" + asked);
  }
  record.unclaimed -= wanted;
  record.refcount += wanted;
  refs_[client][id] += wanted;
  emit(EventKind::attached, record);
  return &std::as_const(record);  // references() did not change: nothing to record
}

shm::Result<const SegmentRecord*> Registry::restore(SegmentRecord record, std::uint32_t references) {
  if (by_id_.contains(record.id))
    return shm::fail(Errc::already_exists, "segment id " + std::to_string(record.id) + " restored twice");
  if (!record.removed && live_names_.contains(record.name))
    return shm::fail(Errc::already_exists, "segment '" + record.name + "' restored twice");
  record.refcount = 0;
  record.unclaimed = std::min(references, kMaxReferences);
  record.restored = true;
  record.handed_out = true;  // its clients' mappings outlived the restart
  record.holds = 0;          // holds are not journaled: a restart ends them
  next_id_ = std::max(next_id_, record.id + 1);
  total_bytes_ += record.sizes.mapping_bytes;
  Usage& used = usage_[record.creator.uid];
  used.bytes += record.sizes.mapping_bytes;
  ++used.segments;
  const std::uint64_t id = record.id;
  if (!record.removed) live_names_.emplace(record.name, id);
  ordered_.emplace(OrderKey{record.name, id}, id);
  return &std::as_const(by_id_.emplace(id, std::move(record)).first->second);
}

std::size_t Registry::sweep_unreferenced() {
  // Collected first: releasing erases from by_id_, and the observer may read the registry.
  std::vector<std::uint64_t> touched;
  for (auto& [id, record] : by_id_) {
    if (record.unclaimed != 0 || (record.refcount == 0 && (record.ephemeral || record.removed))) touched.push_back(id);
    record.unclaimed = 0;
  }
  std::size_t released = 0;
  for (const std::uint64_t id : touched) {
    SegmentRecord& record = by_id_.at(id);
    if (release_if_unreferenced(record)) {
      ++released;
    } else {
      report_references(record);
    }
  }
  return released;
}

const SegmentRecord* Registry::find(std::string_view name) const {
  auto it = live_names_.find(name);
  return it == live_names_.end() ? nullptr : &by_id_.at(it->second);
}

void Registry::for_each_after(std::string_view after_name, std::uint64_t after_id,
                              const std::function<bool(const SegmentRecord&)>& fn) const {
  for (auto it = ordered_.upper_bound(OrderKey{std::string(after_name), after_id}); it != ordered_.end(); ++it)
    if (!fn(by_id_.at(it->second))) return;
}

shm::Result<void> Registry::add_references(ClientId client, SegmentRecord& record) {
  if (record.references() >= kMaxReferences)
    return shm::fail(Errc::limit_exceeded,
                     "segment '" + record.name + "' would exceed " + std::to_string(kMaxReferences) + " references");
  ++record.refcount;
  ++refs_[client][record.id];
  return {};
}

void Registry::report_references(const SegmentRecord& record) {
  if (observer_ != nullptr) observer_->segment_references(record);
}

void Registry::emit(EventKind kind, const SegmentRecord& record, std::uint32_t previous_mode) const {
  if (events_ != nullptr) events_->publish(RegistryEvent{kind, record, previous_mode});
}

void Registry::references_dropped(SegmentRecord& record) {
  if (!release_if_unreferenced(record)) report_references(record);
}

void Registry::hand_out(std::uint64_t id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) it->second.handed_out = true;
}

shm::Result<std::uint32_t> Registry::watch(const Credentials& who, std::uint64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return shm::fail(Errc::not_found, "no segment with id " + std::to_string(id));
  const SegmentRecord& record = it->second;
  if (!permits(who, record, shm::AccessMode::read_only))
    return shm::fail(Errc::permission_denied, "segment '" + record.name + "' (id " + std::to_string(id) + ", mode " +
                                                  shm::octal_mode(record.mode) + ") is not readable by uid " +
                                                  std::to_string(who.uid));
  return watch_segment(record.memfd.get());
}

void Registry::take_name(SegmentRecord& record) {
  if (record.removed) return;
  record.removed = true;
  // Waiters wake with the news. Should the header not map (no memory), they still wake at their
  // timeout or within change_word::kLongestSleep, when their next look finds the flag. A segment
  // whose fd never left the daemon has no mapping anywhere to tell: no map, no munmap (whose TLB
  // flush is most of what a remove cost), as for a create without attach then a remove.
  if (record.memfd && record.handed_out) (void)mark_segment_removed(record.memfd.get());
  live_names_.erase(record.name);
  if (observer_ != nullptr) observer_->segment_removed(record);
  emit(EventKind::removed, record);
}

bool Registry::release_if_unreferenced(SegmentRecord& record) {
  if (record.references() != 0) return false;
  if (record.ephemeral) take_name(record);
  if (!record.removed) return false;
  if (observer_ != nullptr) observer_->segment_freed(record);
  emit(EventKind::freed, record);
  total_bytes_ -= record.sizes.mapping_bytes;
  if (auto used = usage_.find(record.creator.uid); used != usage_.end()) {
    used->second.bytes -= record.sizes.mapping_bytes;
    if (--used->second.segments == 0) usage_.erase(used);
  }
  ordered_.erase(OrderKey{record.name, record.id});
  by_id_.erase(record.id);  // closes the memfd: the kernel frees the pages once clients unmap
  return true;
}

}  // namespace shmd
