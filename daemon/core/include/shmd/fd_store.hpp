#pragma once
/// FdStore: keeps every segment alive in systemd's fd store, with its metadata in a Journal,
/// so that a daemon restart (even after SIGKILL) loses nothing.

#include <spdlog/logger.h>

#include <cstddef>
#include <optional>
#include <unordered_set>
#include <vector>

#include "shmd/journal.hpp"
#include "shmd/registry.hpp"
#include "shmd/systemd.hpp"

namespace shmd {

/// The registry's persistence, through the service manager's fd store.
/// Stored names: "seg-<id>" for segment memfds, "journal-<generation>" for the journal.
/// The store holds at most `capacity` fds (FileDescriptorStoreMax=) and systemd silently closes
/// any beyond that, so FdStore counts what it stores and refuses creates that would not fit.
class FdStore final : public RegistryObserver {
 public:
  /// Store fds kept for the journal: the current one and, while it is replaced, its successor.
  static constexpr std::size_t kJournalSlots = 2;

  /// Persists through `notifier`, which must be enabled, into a store of `capacity` fds.
  FdStore(const Notifier& notifier, Registry& registry, spdlog::logger& log, std::size_t capacity);

  /// Rebuilds the registry from descriptors systemd handed back, taking those it recognises out
  /// of `inherited`; then writes a fresh journal of exactly the restored state. Returns how many
  /// segments came back.
  shm::Result<std::size_t> restore(std::vector<InheritedFd>& inherited);

  void segment_created(const SegmentRecord& record) override;
  void segment_updated(const SegmentRecord& record) override;
  void segment_removed(const SegmentRecord& record) override;
  void segment_freed(const SegmentRecord& record) override;
  void segment_references(const SegmentRecord& record) override;

  /// limit_exceeded once the store has no room for another segment beside the journal.
  [[nodiscard]] shm::Result<void> keep_create() const override;

  /// How many segments the store can keep (its capacity less kJournalSlots).
  [[nodiscard]] std::size_t segment_capacity() const noexcept;
  /// Segments whose memfds are in the store now.
  [[nodiscard]] std::size_t stored_segments() const noexcept { return segment_ids_.size(); }

 private:
  shm::Result<void> start_journal(std::uint64_t generation);
  /// Replaces the journal by a snapshot when it has grown too long; true if it did.
  bool compact_if_due();
  void append(const shmd::journal::v1::JournalRecord& record);
  shm::Result<void> store(const std::string& name, int fd);
  void unstore(const std::string& name);

  const Notifier& notifier_;                       ///< the channel to systemd
  Registry& registry_;                             ///< snapshotted on compaction
  spdlog::logger& log_;                            ///< daemon log
  std::optional<Journal> journal_;                 ///< the current journal
  std::uint64_t live_ = 0;                         ///< segments the journal describes now
  std::size_t capacity_;                           ///< FileDescriptorStoreMax=
  std::size_t stored_ = 0;                         ///< fds of ours in the store: segments and journals
  std::unordered_set<std::uint64_t> segment_ids_;  ///< segments whose memfd is in the store
};

}  // namespace shmd
