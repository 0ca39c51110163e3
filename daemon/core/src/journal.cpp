#include "shmd/journal.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "shm/wire/framing.hpp"

namespace shmd {

namespace jv1 = shmd::journal::v1;

shm::Result<Journal> Journal::create(std::uint64_t generation) {
  shm::UniqueFd fd(::memfd_create("shmd-journal", MFD_CLOEXEC));
  if (!fd) return shm::fail(shm::Errc::internal, std::string("memfd_create(journal): ") + std::strerror(errno));
  Journal journal(std::move(fd), generation);
  jv1::JournalRecord header;
  header.set_generation(generation);
  if (auto written = journal.append(header); !written) return written.failure();
  return journal;
}

shm::Result<void> Journal::append(const jv1::JournalRecord& record) {
  std::string frame;
  shm::wire::append_frame(frame, record.SerializeAsString());
  std::size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::pwrite(fd_.get(), frame.data() + done, frame.size() - done, static_cast<off_t>(offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return shm::fail(shm::Errc::internal, std::string("pwrite(journal): ") + std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  offset_ += frame.size();
  ++records_;
  return {};
}

shm::Result<JournalState> Journal::replay(int fd, std::uint64_t& generation) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return shm::fail(shm::Errc::internal, std::string("fstat(journal): ") + std::strerror(errno));
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);

  shm::wire::FrameDecoder decoder;
  decoder.feed(bytes);
  std::string payload;
  jv1::JournalRecord record;
  if (!decoder.next(payload) || !record.ParseFromString(payload) || !record.has_generation())
    return shm::fail(shm::Errc::corrupt_segment, "journal has no header");
  generation = record.generation();

  JournalState state;
  while (decoder.next(payload) && record.ParseFromString(payload)) {
    switch (record.entry_case()) {
      case jv1::JournalRecord::kCreated: state[record.created().id()] = record.created(); break;
      case jv1::JournalRecord::kUpdated:
        if (state.contains(record.updated().id())) state[record.updated().id()] = record.updated();
        break;
      case jv1::JournalRecord::kRemoved:
        if (auto it = state.find(record.removed()); it != state.end()) it->second.set_removed(true);
        break;
      case jv1::JournalRecord::kFreed: state.erase(record.freed()); break;
      case jv1::JournalRecord::kReferences:
        if (auto it = state.find(record.references().id()); it != state.end())
          it->second.set_references(record.references().count());
        break;
      case jv1::JournalRecord::kGeneration:
      case jv1::JournalRecord::ENTRY_NOT_SET: break;
    }
  }
  return state;
}

}  // namespace shmd
