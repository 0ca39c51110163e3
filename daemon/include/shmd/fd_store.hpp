#pragma once
/// FdStore: keeps every segment alive in systemd's fd store, with its metadata in a Journal,
/// so that a daemon restart (even after SIGKILL) loses nothing.

#include <spdlog/logger.h>

#include <optional>
#include <vector>

#include "shmd/journal.hpp"
#include "shmd/registry.hpp"
#include "shmd/systemd.hpp"

namespace shmd {

/// The registry's persistence, through the service manager's fd store.
/// Stored names: "seg-<id>" for segment memfds, "journal-<generation>" for the journal.
class FdStore final : public RegistryObserver {
 public:
  /// Persists through `notifier`, which must be enabled.
  FdStore(const Notifier& notifier, Registry& registry, spdlog::logger& log);

  /// Rebuilds the registry from descriptors systemd handed back, taking those it recognises out
  /// of `inherited`; then writes a fresh journal of exactly the restored state. Returns how many
  /// segments came back.
  Result<std::size_t> restore(std::vector<InheritedFd>& inherited);

  void segment_created(const SegmentRecord& record) override;
  void segment_updated(const SegmentRecord& record) override;
  void segment_removed(const SegmentRecord& record) override;
  void segment_freed(const SegmentRecord& record) override;

 private:
  bool start_journal(std::uint64_t generation);
  void append(const shmd::journal::v1::JournalRecord& record);

  const Notifier& notifier_;        ///< the channel to systemd
  Registry& registry_;              ///< snapshotted on compaction
  spdlog::logger& log_;             ///< daemon log
  std::optional<Journal> journal_;  ///< the current journal
  std::uint64_t live_ = 0;          ///< segments the journal describes now
};

}  // namespace shmd
