// The restart journal: bytes -> journal memfd -> FdStore::restore -> Registry, the way a daemon
// restarted by systemd rebuilds its state. A journal is the daemon's own, but it lives in a memfd
// that outlives the daemon that wrote it, torn writes included: whatever it says is checked.

#include "journal_fuzz.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "shm/names.hpp"
#include "shm/typecode.hpp"
#include "shmd/fd_store.hpp"
#include "shmd/journal.hpp"
#include "shmd/registry.hpp"
#include "shmd/segment_memory.hpp"
#include "shmd/systemd.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "shm_journal_fuzz_one: invariant broken: %s\n", what);
  std::abort();
}

void silence_protobuf(google::protobuf::LogLevel, const char*, int, const std::string&) {}

/// A memfd holding `bytes`, as the fd store would hand a journal back.
shm::UniqueFd journal_memfd(std::string_view bytes) {
  shm::UniqueFd fd(::memfd_create("fuzz-journal", MFD_CLOEXEC));
  if (!fd) broken("memfd_create failed");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n <= 0) broken("cannot write the journal memfd");
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

/// The memfd a segment of `meta`'s shape would have had; `wrong` makes it a page too big, or
/// unsealed, so the restore must notice.
shm::UniqueFd segment_memfd(const shmd::journal::v1::SegmentMeta& meta, unsigned wrong) {
  shmd::SegmentRecord r;
  const auto type = shm::type_info(static_cast<char>(meta.typecode() & 0x7f));
  const shm::Kind kind = meta.kind() == 2 ? shm::Kind::array : shm::Kind::value;
  const std::uint64_t element = type ? type->size : 1;
  auto sizes = shm::segment_sizes(element, meta.length(), kind);
  // Huge shapes get a small memfd: the size check must refuse them, and the fuzzer stays fast.
  if (!sizes || sizes->mapping_bytes > (1u << 20)) sizes = shm::segment_sizes(1, 1, shm::Kind::value);
  if (wrong == 1) {
    shm::UniqueFd fd(::memfd_create("fuzz-seg", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(sizes->mapping_bytes)) != 0)
      broken("cannot make an unsealed memfd");
    return fd;  // unsealed: a client could shrink it under a mapping
  }
  r.typecode = type ? type->code : 'B';
  r.kind = kind;
  r.length = kind == shm::Kind::value ? 1 : meta.length();
  r.element_size = static_cast<std::uint32_t>(element);
  r.sizes = *sizes;
  if (wrong == 2) r.sizes.mapping_bytes += 4096;
  auto fd = shmd::create_segment_memfd(r, {});
  if (!fd) broken("create_segment_memfd failed");
  return std::move(fd.value());
}

void check_registry(const shmd::Registry& registry, std::uint64_t& highest_id) {
  std::uint64_t bytes = 0;
  std::size_t count = 0;
  registry.for_each_after("", 0, [&](const shmd::SegmentRecord& r) {
    if (!shm::check_segment_name(r.name, registry.limits().max_name_length).ok())
      broken("a restored segment has an invalid name");
    if (r.mode > 0777) broken("a restored segment has mode bits above 0777");
    if (r.id == 0 || r.id == std::numeric_limits<std::uint64_t>::max())
      broken("a restored segment has an id no create could give");
    const auto type = shm::type_info(r.typecode);
    if (!type || type->size != r.element_size) broken("a restored segment has an unknown typecode");
    if (r.kind != shm::Kind::value && r.kind != shm::Kind::array) broken("a restored segment has an unknown kind");
    const auto sizes = shm::segment_sizes(r.element_size, r.length, r.kind);
    if (!sizes || sizes->mapping_bytes != r.sizes.mapping_bytes)
      broken("a restored segment's sizes do not follow from its shape");
    struct stat st {};
    if (!r.memfd || ::fstat(r.memfd.get(), &st) != 0) broken("a restored segment has no memfd");
    if (static_cast<std::uint64_t>(st.st_size) != r.sizes.mapping_bytes)
      broken("a restored memfd's size differs from mapping_bytes");
    const int seals = ::fcntl(r.memfd.get(), F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
      broken("a restored memfd is not sealed");
    bytes += r.sizes.mapping_bytes;
    highest_id = std::max(highest_id, r.id);
    ++count;
    return true;
  });
  if (bytes != registry.total_bytes()) broken("total_bytes differs from the sum of the segments");
  if (count != registry.segment_count()) broken("segment_count differs from the listed segments");
}

}  // namespace

int shm_journal_fuzz_one(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (google::protobuf::SetLogHandler(&silence_protobuf), ::unsetenv("NOTIFY_SOCKET"), true);
  (void)quiet;
  static const auto log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_st>());
  if (size < 1) return 0;
  const unsigned wrong_bits = data[0];
  const std::string_view journal(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<shmd::InheritedFd> inherited;
  std::uint64_t generation = 0;
  {
    // The same decoder the restore uses, to learn which segment memfds to hand back with it.
    shm::UniqueFd probe = journal_memfd(journal);
    auto state = shmd::Journal::replay(probe.get(), generation);
    if (state) {
      unsigned i = 0;
      for (const auto& [id, meta] : state.value()) {
        if (i == 16) break;
        const unsigned wrong = (wrong_bits >> (2 * (i % 4))) & 3;  // 0 right, 1 unsealed, 2 size, 3 right
        inherited.push_back(
            shmd::InheritedFd{"seg-" + std::to_string(id), segment_memfd(meta, wrong == 3 ? 0 : wrong)});
        ++i;
      }
    }
  }
  inherited.push_back(shmd::InheritedFd{"journal-" + std::to_string(generation), journal_memfd(journal)});
  inherited.push_back(shmd::InheritedFd{
      "shmd.socket", shm::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))});  // not ours: must be left alone

  shmd::Registry registry{shmd::Limits{}};
  shmd::Notifier notifier;  // disabled: nothing reaches a service manager
  shmd::FdStore store(notifier, registry, *log, 64);
  (void)store.restore(inherited);
  if (inherited.size() != 1 || inherited[0].name != "shmd.socket")
    broken("restore took a descriptor that is not its own");

  std::uint64_t highest = 0;
  check_registry(registry, highest);
  // A segment made after the restart must get an id no restored segment has.
  shmd::CreateParams params;
  params.name = "after-restart";
  params.typecode = 'd';
  params.kind = shm::Kind::value;
  params.length = 1;
  const shmd::Credentials root{0, 0, 1, {}};
  if (auto made = registry.create(1, root, params); made) {
    if (made->segment->id <= highest) broken("a new segment reuses or precedes a restored segment's id");
  }
  registry.drop_client(1);
  (void)registry.sweep_unreferenced();
  check_registry(registry, highest);
  return 0;
}
