#include "shmd/fd_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>
#include <limits>
#include <map>
#include <string>

#include "shm/names.hpp"
#include "shm/typecode.hpp"
#include "shmd/protocol.hpp"
#include "shmd/segment_memory.hpp"

namespace shmd {
namespace {

namespace jv1 = shmd::journal::v1;

constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kJournalPrefix = "journal-";
constexpr int kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

std::string segment_fd_name(std::uint64_t id) { return std::string(kSegmentPrefix) + std::to_string(id); }
std::string journal_fd_name(std::uint64_t generation) {
  return std::string(kJournalPrefix) + std::to_string(generation);
}

// The number after `prefix` in a stored fd name, if the name has that form.
std::optional<std::uint64_t> number_after(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (ec != std::errc{} || end != name.data() + name.size()) return std::nullopt;
  return value;
}

// Why a stored segment does not check out: logged, never sent to a client.
shm::Failure refused(std::string why) { return shm::fail(shm::Errc::corrupt_segment, std::move(why)); }

// Rebuilds a record from journal metadata and a stored memfd, or says why they do not check out.
// `upgraded_from` is set to the layout the segment's header had if it was upgraded in place.
shm::Result<void> record_from(const jv1::SegmentMeta& m, shm::UniqueFd fd, SegmentRecord& r,
                              std::uint32_t& upgraded_from) {
  // The journal is our own, but it outlives the daemon that wrote it: nothing in it is trusted
  // that a request could not have produced (found by the journal fuzzer).
  // Ids count up from 1, one per create: 2^63 is out of reach, and a restored id near 2^64 would
  // make the next create's id wrap round to 0 and collide.
  if (m.id() == 0 || m.id() > std::numeric_limits<std::uint64_t>::max() / 2)
    return refused("id " + std::to_string(m.id()) + " is not one the daemon hands out");
  if (auto named = shm::check_segment_name(m.name()); !named)
    return refused("its name is invalid: " + named.failure().message);
  if (m.mode() > 0777) return refused("mode " + std::to_string(m.mode()) + " has bits above 0777");
  const auto type = shm::type_info(static_cast<char>(m.typecode()));
  if (!type || m.typecode() > 0x7f) return refused("unknown typecode");
  const auto kind = kind_from_wire(m.kind());
  if (!kind) return refused("unknown kind");
  const auto sizes = shm::segment_sizes(type->size, m.length(), *kind);
  if (!sizes) return refused("impossible length");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != sizes->mapping_bytes)
    return refused("memfd size does not match the journal");
  const int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) return refused("memfd is not sealed");
  // A segment made by a daemon with another header layout would be refused by every client. Those
  // of layouts 2 and 3 differ from this one only in where the change word and the flags are (2
  // had none; 3 had them at 112): they are brought up to date in place (after every check above,
  // so nothing is written to a memfd that is refused anyway), and their clients of the old layout,
  // which never touch the bytes layout 4 uses for them, go on.
  const std::uint32_t layout = shm::named_layout(m.layout_version());
  if (layout != shm::kLayoutVersion && !shm::upgradable_layout(layout))
    return refused("its memfd has segment layout " + std::to_string(layout) + "; this daemon reads and writes layout " +
                   std::to_string(shm::kLayoutVersion) + " and upgrades layouts " +
                   std::to_string(shm::kOldestUpgradableLayout) + " to " + std::to_string(shm::kLayoutVersion - 1));
  if (auto locked = restrict_memfd_mode(fd.get()); !locked) return locked;
  if (layout != shm::kLayoutVersion) {
    if (auto upgraded = upgrade_segment_header(fd.get(), layout, m.removed()); !upgraded)
      return refused("its layout " + std::to_string(layout) +
                     " header cannot be upgraded: " + upgraded.failure().message);
    upgraded_from = layout;
  }
  r.id = m.id();
  r.name = m.name();
  r.typecode = type->code;
  r.kind = *kind;
  r.length = m.length();
  r.element_size = static_cast<std::uint32_t>(type->size);
  r.sizes = *sizes;
  r.creator = Credentials{m.uid(), m.gid(), m.creator_pid()};
  r.mode = m.mode();
  r.ephemeral = m.ephemeral();
  r.removed = m.removed();
  r.created_unix_ns = m.created_unix_ns();
  r.memfd = std::move(fd);
  return {};
}

}  // namespace

FdStore::FdStore(const Notifier& notifier, Registry& registry, spdlog::logger& log, std::size_t capacity)
    : notifier_(notifier), registry_(registry), log_(log), capacity_(capacity) {}

std::size_t FdStore::segment_capacity() const noexcept {
  return capacity_ > kJournalSlots ? capacity_ - kJournalSlots : 0;
}

shm::Result<void> FdStore::keep_create() const {
  if (segment_ids_.size() < segment_capacity()) return {};
  return shm::fail(shm::Errc::limit_exceeded,
                   "the fd store is full: it keeps " + std::to_string(segment_capacity()) +
                       " segments (FileDescriptorStoreMax=" + std::to_string(capacity_) + ", less " +
                       std::to_string(kJournalSlots) +
                       " for shmd's journal), and a segment created now would be lost at the next restart");
}

// systemd closes, without telling us, every fd sent past FileDescriptorStoreMax=; so nothing is
// sent that would not fit.
shm::Result<void> FdStore::store(const std::string& name, int fd) {
  if (stored_ >= capacity_)
    return shm::fail(shm::Errc::limit_exceeded, "cannot put " + name + " in the fd store: it holds " +
                                                    std::to_string(stored_) +
                                                    " fds, FileDescriptorStoreMax=" + std::to_string(capacity_));
  if (auto sent = notifier_.store_fd(name, fd); !sent) return sent;
  ++stored_;
  return {};
}

void FdStore::unstore(const std::string& name) {
  notifier_.remove_fd(name);
  if (stored_ > 0) --stored_;
}

shm::Result<std::size_t> FdStore::restore(std::vector<InheritedFd>& inherited) {
  // Pick the newest journal that replays; every journal found is replaced by a fresh one below.
  std::optional<JournalState> state;
  std::uint64_t best_generation = 0;
  std::uint64_t max_generation = 0;
  std::string best_journal;
  std::vector<std::string> old_journals;
  std::map<std::uint64_t, shm::UniqueFd> segment_fds;
  std::vector<InheritedFd> unrelated;
  for (InheritedFd& f : inherited) {
    if (auto generation = number_after(f.name, kJournalPrefix)) {
      old_journals.push_back(f.name);
      max_generation = std::max(max_generation, *generation);
      std::uint64_t header = 0;
      auto replayed = Journal::replay(f.fd.get(), header);
      if (!replayed) {
        log_.error("stored {} is unreadable: {}", f.name, replayed.failure().message);
      } else if (!state || header > best_generation) {
        state = std::move(replayed.value());
        best_generation = header;
        best_journal = f.name;
      }
    } else if (auto id = number_after(f.name, kSegmentPrefix)) {
      segment_fds[*id] = std::move(f.fd);
    } else {
      unrelated.push_back(std::move(f));
    }
  }
  inherited = std::move(unrelated);
  // Everything of ours that came back is in the store again; what is dropped below leaves it.
  stored_ = old_journals.size() + segment_fds.size();
  segment_ids_.clear();

  std::size_t restored = 0;
  if (state) {
    for (auto& [id, meta] : *state) {
      auto fd = segment_fds.extract(id);
      if (fd.empty()) {
        log_.error("segment '{}' (id {}) is in the journal but its memfd was not handed back; it is lost", meta.name(),
                   id);
        continue;
      }
      SegmentRecord record;
      std::uint32_t upgraded_from = 0;
      if (auto checked = record_from(meta, std::move(fd.mapped()), record, upgraded_from); !checked) {
        log_.error("segment '{}' (id {}) cannot be restored: {}", meta.name(), id, checked.failure().message);
        unstore(segment_fd_name(id));
        continue;
      }
      if (auto r = registry_.restore(std::move(record), meta.references()); !r) {
        log_.error("segment '{}' (id {}) cannot be restored: {}", meta.name(), id, r.failure().message);
        unstore(segment_fd_name(id));
        continue;
      }
      if (upgraded_from != 0)
        log_.info("segment '{}' (id {}) had header layout {}; upgraded in place to layout {}", meta.name(), id,
                  upgraded_from, shm::kLayoutVersion);
      segment_ids_.insert(id);
      ++restored;
    }
  } else if (!segment_fds.empty()) {
    log_.error("{} stored segments came back without a journal; their metadata is unknown, so they are dropped",
               segment_fds.size());
  }
  for (const auto& [id, fd] : segment_fds) {
    log_.warn("stored memfd seg-{} has no journal entry; dropping it", id);
    unstore(segment_fd_name(id));
  }

  // The replayed journal leaves the store only once its successor is in. If there is no room for
  // that (FileDescriptorStoreMax= was lowered below what the store holds), it stays, so that a
  // restart with a larger store still finds every segment.
  for (const std::string& name : old_journals)
    if (name != best_journal) unstore(name);
  if (segment_ids_.size() > segment_capacity())
    log_.warn(
        "the fd store holds {} segments, more than the {} that FileDescriptorStoreMax={} leaves room for; "
        "creates are refused until enough are freed",
        segment_ids_.size(), segment_capacity(), capacity_);
  if (auto started = start_journal(max_generation + 1); !started)
    return shm::fail(shm::Errc::internal, "cannot write a new journal: " + started.failure().message);
  if (!best_journal.empty()) unstore(best_journal);
  return restored;
}

shm::Result<void> FdStore::start_journal(std::uint64_t generation) {
  auto journal = Journal::create(generation);
  if (!journal) {
    log_.error("journal: {}", journal.failure().message);
    return journal.failure();
  }
  std::uint64_t live = 0;
  shm::Result<void> written;
  registry_.for_each_after("", 0, [&](const SegmentRecord& r) {
    jv1::JournalRecord rec;
    *rec.mutable_created() = to_journal(r);
    written = journal->append(rec);
    ++live;
    return written.ok();
  });
  if (written) written = store(journal_fd_name(generation), journal->fd());
  if (!written) {
    log_.error("cannot store journal generation {} ({}); segments created now will not survive a restart", generation,
               written.failure().message);
    return written;
  }
  if (journal_) unstore(journal_fd_name(journal_->generation()));
  journal_ = std::move(journal.value());
  live_ = live;
  return {};
}

void FdStore::append(const jv1::JournalRecord& record) {
  if (!journal_) return;
  if (auto written = journal_->append(record); !written)
    log_.error("{}; metadata of later changes may not survive a restart", written.failure().message);
}

bool FdStore::compact_if_due() {
  // Compact once dead records outnumber live ones by far: a snapshot per 2 * live + 1024
  // records keeps both the journal's size and the cost per record bounded.
  return journal_ && journal_->records() > 2 * live_ + 1024 && start_journal(journal_->generation() + 1).ok();
}

void FdStore::segment_created(const SegmentRecord& record) {
  if (auto stored = store(segment_fd_name(record.id), record.memfd.get()))
    segment_ids_.insert(record.id);
  else
    log_.error("cannot put segment '{}' in the fd store ({}); it will not survive a restart", record.name,
               stored.failure().message);
  if (compact_if_due()) return;  // the snapshot already includes `record`
  jv1::JournalRecord rec;
  *rec.mutable_created() = to_journal(record);
  append(rec);
  ++live_;
}

void FdStore::segment_updated(const SegmentRecord& record) {
  jv1::JournalRecord rec;
  *rec.mutable_updated() = to_journal(record);
  append(rec);
}

void FdStore::segment_removed(const SegmentRecord& record) {
  jv1::JournalRecord rec;
  rec.set_removed(record.id);
  append(rec);
}

void FdStore::segment_freed(const SegmentRecord& record) {
  if (segment_ids_.erase(record.id) > 0) unstore(segment_fd_name(record.id));
  jv1::JournalRecord rec;
  rec.set_freed(record.id);
  append(rec);
  if (live_ > 0) --live_;
}

void FdStore::segment_references(const SegmentRecord& record) {
  // Written before the reply that reports the change, so the count a restarted daemon reads is
  // never below what clients were told they hold (it may be above: those go at the grace end).
  if (compact_if_due()) return;  // the snapshot already has the new count
  jv1::JournalRecord rec;
  rec.mutable_references()->set_id(record.id);
  rec.mutable_references()->set_count(record.restorable_references());
  append(rec);
}

}  // namespace shmd
