// FdStore::restore: what comes back from systemd's fd store, what is refused, and that a full store is never
// sent more than it keeps. No daemon runs: a datagram socket stands in for NOTIFY_SOCKET.

#include "shmd/fd_store.hpp"

#include <fcntl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shm/mapping.hpp"
#include "shm/segment_layout.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shmd_journal.pb.h"

namespace shmd {
namespace {

namespace jv1 = shmd::journal::v1;

/// A NOTIFY_SOCKET for this process, in a fresh temporary directory, unset again at the end.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    char tmpl[] = "/tmp/shmd-fdstore-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string path = dir_ + "/notify";
    socket_ = shm::UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(::bind(socket_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    std::filesystem::remove_all(dir_);
  }
  FakeNotifySocket(const FakeNotifySocket&) = delete;
  FakeNotifySocket& operator=(const FakeNotifySocket&) = delete;

  /// The notifications sent since the last call, in order; the fds they carried are closed.
  std::vector<std::string> take_messages() {
    std::vector<std::string> out;
    for (;;) {
      std::array<std::byte, 4096> buffer;
      std::vector<shm::UniqueFd> fds;
      std::error_code ec;
      const std::size_t n = shm::wire::recv_with_fds(socket_.get(), buffer, fds, ec);
      if (ec) return out;
      out.emplace_back(reinterpret_cast<const char*>(buffer.data()), n);
    }
  }

 private:
  std::string dir_;       ///< holds the socket
  shm::UniqueFd socket_;  ///< receives what the store sends
};

/// A sealed segment memfd made by a registry, and the journal metadata that describes it.
struct StoredSegment {
  jv1::SegmentMeta meta;
  shm::UniqueFd fd;
};

StoredSegment make_segment(Registry& maker, std::uint64_t id, const std::string& name) {
  CreateParams p;
  p.name = name;
  p.typecode = 'i';
  p.kind = shm::Kind::array;
  p.length = 4;
  auto made = maker.create(1, Credentials{1000, 100, 7}, p);
  EXPECT_TRUE(made.ok());
  StoredSegment s;
  s.fd = shm::UniqueFd(::fcntl(made->segment->memfd.get(), F_DUPFD_CLOEXEC, 0));
  s.meta.set_id(id);
  s.meta.set_name(name);
  s.meta.set_typecode('i');
  s.meta.set_kind(2);
  s.meta.set_length(4);
  s.meta.set_uid(1000);
  s.meta.set_gid(100);
  s.meta.set_mode(0600);
  return s;
}

TEST(FdStoreRestore, SegmentsTheJournalRecordsWithAnotherLayoutAreRefused) {
  FakeNotifySocket notify_socket;
  const Notifier notifier;
  ASSERT_TRUE(notifier.enabled());
  auto log = spdlog::null_logger_st("fd-store-test");

  Registry maker;
  StoredSegment current = make_segment(maker, 1, "current");
  current.meta.set_layout_version(shm::kLayoutVersion);
  StoredSegment old = make_segment(maker, 2, "written.by.layout.1");  // no layout_version: an older journal

  auto journal = Journal::create(5);
  ASSERT_TRUE(journal.ok());
  for (const StoredSegment* s : {&current, &old}) {
    jv1::JournalRecord record;
    *record.mutable_created() = s->meta;
    ASSERT_TRUE(journal->append(record));
  }
  std::vector<InheritedFd> inherited;
  inherited.push_back({"journal-5", shm::UniqueFd(::fcntl(journal->fd(), F_DUPFD_CLOEXEC, 0))});
  inherited.push_back({"seg-1", std::move(current.fd)});
  inherited.push_back({"seg-2", std::move(old.fd)});

  Registry restored_into;
  FdStore store(notifier, restored_into, *log, 65536);
  auto restored = store.restore(inherited);
  ASSERT_TRUE(restored.ok()) << restored.failure().message;
  EXPECT_EQ(restored.value(), 1u);
  EXPECT_NE(restored_into.find("current"), nullptr);
  EXPECT_EQ(restored_into.find("written.by.layout.1"), nullptr);
  spdlog::drop("fd-store-test");
}

/// The header of a stored segment's memfd, mapped for the test to read and write.
struct MappedHeader {
  explicit MappedHeader(int fd) {
    std::error_code ec;
    mapping = shm::Mapping::map(fd, sizeof(shm::SegmentHeader), shm::AccessMode::read_write, ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  shm::SegmentHeader& operator*() const { return *reinterpret_cast<shm::SegmentHeader*>(mapping.data()); }
  shm::SegmentHeader* operator->() const { return &**this; }
  shm::Mapping mapping;
};

/// The u32 at `offset` of a header, as bytes: layout 3's change word and flags (112, 116) are
/// reserved bytes in this layout's struct.
std::uint32_t u32_at(const shm::SegmentHeader& h, std::size_t offset) {
  std::uint32_t v = 0;
  std::memcpy(&v, reinterpret_cast<const std::byte*>(&h) + offset, sizeof v);
  return v;
}
void set_u32_at(shm::SegmentHeader& h, std::size_t offset, std::uint32_t v) {
  std::memcpy(reinterpret_cast<std::byte*>(&h) + offset, &v, sizeof v);
}

/// Makes the segment look as a daemon of `layout` (2 or 3) left it: that version, and junk where
/// this layout keeps the change word and the flags (bytes a client of either may have written).
/// Layout 3 kept its own words at 112 and 116: a watched word with count 5, and no flags.
void make_old_layout(StoredSegment& s, std::uint32_t layout) {
  MappedHeader h(s.fd.get());
  h->layout_version = layout;
  h->changes = 0xdeadbeef;
  h->flags = 0xdeadbeef;
  if (layout == 3) set_u32_at(*h, 112, 5 * 2 + 1);
  s.meta.set_layout_version(layout);
}

// A daemon upgrade over live segments: those of the layouts before come back upgraded in place
// (the version rewritten, the change word zeroed, a removed one flagged so its waiters hear it,
// layout 3's own words left to the processes of layout 3 that may still map it), and one whose
// header does not say what its journal entry says is refused with a log line.
TEST(FdStoreRestore, SegmentsOfTheLayoutsBeforeAreUpgradedInPlace) {
  FakeNotifySocket notify_socket;
  const Notifier notifier;
  ASSERT_TRUE(notifier.enabled());
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  auto log = std::make_shared<spdlog::logger>("fd-store-upgrade", sink);

  Registry maker;
  std::vector<StoredSegment> segments;
  std::uint64_t id = 0;
  for (const std::uint32_t layout : {2u, 3u}) {
    const std::string prefix = "layout" + std::to_string(layout);
    segments.push_back(make_segment(maker, ++id, prefix + ".live"));
    make_old_layout(segments.back(), layout);
    segments.push_back(make_segment(maker, ++id, prefix + ".removed"));
    make_old_layout(segments.back(), layout);
    segments.back().meta.set_removed(true);
    segments.back().meta.set_references(1);  // still attached, so it is restored
  }
  segments.push_back(make_segment(maker, ++id, "layout2.mislabelled"));  // the header says 4
  segments.back().meta.set_layout_version(2);
  segments.push_back(make_segment(maker, ++id, "layout3.mislabelled"));  // the header says 2
  make_old_layout(segments.back(), 2);
  segments.back().meta.set_layout_version(3);
  std::vector<int> fds;
  for (const StoredSegment& s : segments) fds.push_back(s.fd.get());

  auto journal = Journal::create(5);
  ASSERT_TRUE(journal.ok());
  std::vector<InheritedFd> inherited;
  for (StoredSegment& s : segments) {
    jv1::JournalRecord record;
    *record.mutable_created() = s.meta;
    ASSERT_TRUE(journal->append(record));
    inherited.push_back({"seg-" + std::to_string(s.meta.id()), shm::UniqueFd(::fcntl(s.fd.get(), F_DUPFD_CLOEXEC, 0))});
  }
  inherited.push_back({"journal-5", shm::UniqueFd(::fcntl(journal->fd(), F_DUPFD_CLOEXEC, 0))});

  Registry restored_into;
  FdStore store(notifier, restored_into, *log, 65536);
  auto restored = store.restore(inherited);
  ASSERT_TRUE(restored.ok()) << restored.failure().message;
  EXPECT_EQ(restored.value(), 4u);
  EXPECT_EQ(restored_into.segment_count(), 4u);
  EXPECT_EQ(restored_into.find("layout2.mislabelled"), nullptr);
  EXPECT_EQ(restored_into.find("layout3.mislabelled"), nullptr);
  const std::string logged = log_text.str();
  for (std::size_t i = 0; i < 4; ++i) {
    const std::uint32_t layout = i < 2 ? 2 : 3;
    const bool removed = i % 2 == 1;
    const std::string& name = segments[i].meta.name();
    EXPECT_EQ(restored_into.find(name) != nullptr, !removed) << name << ": a removed one has no name";
    MappedHeader h(fds[i]);
    EXPECT_EQ(h->layout_version, shm::kLayoutVersion) << name;
    EXPECT_EQ(h->changes, 0u) << name;
    EXPECT_EQ(h->flags, removed ? shm::kSegmentRemoved : 0u) << name;
    if (layout == 3) {
      EXPECT_EQ(u32_at(*h, 112), 5u * 2 + 1) << name << ": layout 3's change word, left to its processes";
      EXPECT_EQ(u32_at(*h, 116), 0u) << name;
    }
    EXPECT_NE(logged.find("segment '" + name + "' (id " + std::to_string(i + 1) + ") had header layout " +
                          std::to_string(layout) + "; upgraded in place to layout 4"),
              std::string::npos)
        << logged;
  }
  EXPECT_NE(logged.find("segment 'layout2.mislabelled' (id 5) cannot be restored: its layout 2 header cannot be "
                        "upgraded: its header has layout 4, not layout 2 as the journal says"),
            std::string::npos)
      << logged;
  EXPECT_NE(logged.find("segment 'layout3.mislabelled' (id 6) cannot be restored: its layout 3 header cannot be "
                        "upgraded: its header has layout 2, not layout 3 as the journal says"),
            std::string::npos)
      << logged;
}

// Found by the journal fuzzer: a journal entry is checked like a request would be, so an id near
// 2^64 (the next create's id would wrap round to 0), a name no request could give, and mode bits
// above 0777 are refused, while a sound entry beside them comes back.
TEST(FdStoreRestore, JournalEntriesNoRequestCouldHaveMadeAreRefused) {
  FakeNotifySocket notify_socket;
  const Notifier notifier;
  ASSERT_TRUE(notifier.enabled());
  auto log = spdlog::null_logger_st("fd-store-test");

  Registry maker;
  std::vector<StoredSegment> segments;
  segments.push_back(make_segment(maker, 3, "sound"));
  segments.push_back(make_segment(maker, ~std::uint64_t{0} - 1, "id.near.the.top"));
  segments.push_back(make_segment(maker, 4, "bad.name"));
  segments.back().meta.set_name("../bad.name");
  segments.push_back(make_segment(maker, 5, "bad.mode"));
  segments.back().meta.set_mode(04777);
  auto journal = Journal::create(5);
  ASSERT_TRUE(journal.ok());
  std::vector<InheritedFd> inherited;
  for (StoredSegment& s : segments) {
    s.meta.set_layout_version(shm::kLayoutVersion);
    jv1::JournalRecord record;
    *record.mutable_created() = s.meta;
    ASSERT_TRUE(journal->append(record));
    inherited.push_back({"seg-" + std::to_string(s.meta.id()), std::move(s.fd)});
  }
  inherited.push_back({"journal-5", shm::UniqueFd(::fcntl(journal->fd(), F_DUPFD_CLOEXEC, 0))});

  Registry restored_into;
  FdStore store(notifier, restored_into, *log, 65536);
  auto restored = store.restore(inherited);
  ASSERT_TRUE(restored.ok()) << restored.failure().message;
  EXPECT_EQ(restored.value(), 1u);
  EXPECT_NE(restored_into.find("sound"), nullptr);
  EXPECT_EQ(restored_into.find("id.near.the.top"), nullptr);
  EXPECT_EQ(restored_into.find("bad.mode"), nullptr);
  EXPECT_EQ(restored_into.segment_count(), 1u);
  // The next create continues after the restored id, far from wrapping.
  CreateParams p;
  p.name = "after";
  p.typecode = 'd';
  p.kind = shm::Kind::value;
  p.length = 1;
  auto made = restored_into.create(1, Credentials{1000, 100, 7}, p);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->segment->id, 4u);
  spdlog::drop("fd-store-test");
}

TEST(FdStoreRestore, TheJournalsLastReferenceCountIsAllThatMayBeReattached) {
  FakeNotifySocket notify_socket;
  const Notifier notifier;
  ASSERT_TRUE(notifier.enabled());
  auto log = spdlog::null_logger_st("fd-store-test");

  Registry maker;
  StoredSegment counted = make_segment(maker, 1, "counted");
  counted.meta.set_layout_version(shm::kLayoutVersion);
  counted.meta.set_references(2);
  StoredSegment uncounted = make_segment(maker, 2, "uncounted");  // from a journal before counts
  uncounted.meta.set_layout_version(shm::kLayoutVersion);

  auto journal = Journal::create(5);
  ASSERT_TRUE(journal.ok());
  std::vector<jv1::JournalRecord> records(5);
  *records[0].mutable_created() = counted.meta;
  *records[1].mutable_created() = uncounted.meta;
  records[2].mutable_references()->set_id(1);
  records[2].mutable_references()->set_count(5);
  records[3].mutable_references()->set_id(1);
  records[3].mutable_references()->set_count(3);
  records[4].mutable_references()->set_id(99);  // no such segment: ignored
  records[4].mutable_references()->set_count(7);
  for (const auto& record : records) ASSERT_TRUE(journal->append(record));
  std::vector<InheritedFd> inherited;
  inherited.push_back({"journal-5", shm::UniqueFd(::fcntl(journal->fd(), F_DUPFD_CLOEXEC, 0))});
  inherited.push_back({"seg-1", std::move(counted.fd)});
  inherited.push_back({"seg-2", std::move(uncounted.fd)});

  Registry restored_into;
  FdStore store(notifier, restored_into, *log, 65536);
  auto restored = store.restore(inherited);
  ASSERT_TRUE(restored.ok()) << restored.failure().message;
  EXPECT_EQ(restored.value(), 2u);
  ASSERT_NE(restored_into.find("counted"), nullptr);
  EXPECT_EQ(restored_into.find("counted")->refcount, 0u);
  EXPECT_EQ(restored_into.find("counted")->unclaimed, 3u) << "the last count recorded wins";
  EXPECT_EQ(restored_into.find("uncounted")->unclaimed, 0u) << "no count recorded: nothing to reattach";
  const Credentials owner{1000, 100, 7};
  EXPECT_EQ(restored_into.reattach(1, owner, 1, 4).failure().code, shm::Errc::not_attached);
  EXPECT_TRUE(restored_into.reattach(1, owner, 1, 3).ok());
  EXPECT_EQ(restored_into.reattach(1, owner, 2, 1).failure().code, shm::Errc::not_attached);
  spdlog::drop("fd-store-test");
}

TEST(FdStoreRestore, ACrashMidCompactionStillFitsAFullStore) {
  // shmd died after storing journal-6 and before removing journal-5, with the store (6 fds) full:
  // two journals and four segments. The restart must never send the store a seventh fd.
  FakeNotifySocket notify_socket;
  const Notifier notifier;
  auto log = spdlog::null_logger_st("fd-store-test");

  Registry maker;
  std::vector<StoredSegment> segments;
  for (std::uint64_t id = 1; id <= 4; ++id) {
    segments.push_back(make_segment(maker, id, "s" + std::to_string(id)));
    segments.back().meta.set_layout_version(shm::kLayoutVersion);
  }
  std::vector<InheritedFd> inherited;
  std::vector<Journal> journals;
  for (const std::uint64_t generation : {std::uint64_t{5}, std::uint64_t{6}}) {
    auto journal = Journal::create(generation);
    ASSERT_TRUE(journal.ok());
    for (const StoredSegment& s : segments) {
      jv1::JournalRecord record;
      *record.mutable_created() = s.meta;
      ASSERT_TRUE(journal->append(record));
    }
    inherited.push_back(
        {"journal-" + std::to_string(generation), shm::UniqueFd(::fcntl(journal->fd(), F_DUPFD_CLOEXEC, 0))});
    journals.push_back(std::move(journal.value()));
  }
  std::set<std::string> held{"journal-5", "journal-6"};
  for (StoredSegment& s : segments) {
    held.insert("seg-" + std::to_string(s.meta.id()));
    inherited.push_back({"seg-" + std::to_string(s.meta.id()), std::move(s.fd)});
  }

  Registry restored_into;
  FdStore store(notifier, restored_into, *log, 6);
  auto restored = store.restore(inherited);
  ASSERT_TRUE(restored.ok()) << restored.failure().message;
  EXPECT_EQ(restored.value(), 4u);

  // Play the notifications against a store of 6, as systemd would.
  for (const std::string& message : notify_socket.take_messages()) {
    const auto name_at = message.find("FDNAME=");
    ASSERT_NE(name_at, std::string::npos) << message;
    const std::string name = message.substr(name_at + 7, message.find('\n', name_at) - name_at - 7);
    if (message.starts_with("FDSTORE=1")) {
      EXPECT_LT(held.size(), 6u) << "sent " << name << " to a full store";
      held.insert(name);
    } else if (message.starts_with("FDSTOREREMOVE=1")) {
      held.erase(name);
    }
  }
  EXPECT_EQ(held, (std::set<std::string>{"journal-7", "seg-1", "seg-2", "seg-3", "seg-4"}));
  EXPECT_EQ(store.stored_segments(), 4u);
  const auto kept = store.keep_create();
  ASSERT_FALSE(kept.ok()) << "four segments fill a store of 6";
  EXPECT_EQ(kept.failure().code, shm::Errc::limit_exceeded);
  spdlog::drop("fd-store-test");
}

}  // namespace
}  // namespace shmd
