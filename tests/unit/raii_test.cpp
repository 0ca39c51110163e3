// UniqueFd, Mapping and SCM_RIGHTS fd passing: the RAII and wire building blocks of common/.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <span>
#include <string>
#include <vector>

#include "memory_pages.hpp"
#include "shm/mapping.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::test::is_mapped;

using shm::wire::append_frame;
using shm::wire::append_varint;
using shm::wire::FrameDecoder;
using shm::wire::FrameError;
using shm::wire::kMaxFrameBytes;

// ---------------------------------------------------------------------------------------------
// RAII wrappers

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

shm::UniqueFd memfd(std::size_t size) {
  shm::UniqueFd fd(::memfd_create("shm-unit-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fd.reset();
  return fd;
}

TEST(UniqueFd, ClosesOnDestructionAndMovesOwnership) {
  int raw = -1;
  {
    shm::UniqueFd a = memfd(16);
    ASSERT_TRUE(a);
    raw = a.get();
    shm::UniqueFd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(a.get(), -1);
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(fd_is_open(raw));
  }
  EXPECT_FALSE(fd_is_open(raw));
}

TEST(UniqueFd, MoveAssignmentClosesWhatWasHeld) {
  shm::UniqueFd a = memfd(16);
  shm::UniqueFd b = memfd(16);
  const int old_a = a.get();
  const int old_b = b.get();
  a = std::move(b);
  EXPECT_FALSE(fd_is_open(old_a));
  EXPECT_EQ(a.get(), old_b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
}

TEST(UniqueFd, ReleaseGivesUpOwnershipAndResetCloses) {
  shm::UniqueFd a = memfd(16);
  const int raw = a.release();
  EXPECT_FALSE(a);
  EXPECT_TRUE(fd_is_open(raw));
  a.reset(raw);
  EXPECT_EQ(a.get(), raw);
  a.reset();
  EXPECT_FALSE(fd_is_open(raw));
  EXPECT_FALSE(a);
}

TEST(Mapping, MapsSharedAndUnmapsOnDestruction) {
  const auto fd = memfd(4096);
  std::error_code ec;
  std::byte* p = nullptr;
  {
    auto m = shm::Mapping::map(fd.get(), 4096, shm::AccessMode::read_write, ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(m);
    EXPECT_EQ(m.size(), 4096U);
    p = m.data();
    m.bytes()[100] = std::byte{0x5a};
    // A second mapping of the same fd sees the write: MAP_SHARED.
    auto other = shm::Mapping::map(fd.get(), 4096, shm::AccessMode::read_only, ec);
    ASSERT_TRUE(other);
    EXPECT_EQ(other.bytes()[100], std::byte{0x5a});
    EXPECT_TRUE(is_mapped(p, 4096));
  }
  EXPECT_FALSE(is_mapped(p, 4096));
}

TEST(Mapping, MoveTransfersAndAssignmentUnmapsTheOld) {
  const auto fd = memfd(8192);
  std::error_code ec;
  auto a = shm::Mapping::map(fd.get(), 4096, shm::AccessMode::read_write, ec);
  auto b = shm::Mapping::map(fd.get(), 8192, shm::AccessMode::read_write, ec);
  ASSERT_TRUE(a && b);
  std::byte* const pa = a.data();
  std::byte* const pb = b.data();
  shm::Mapping c(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0U);
  EXPECT_EQ(c.data(), pa);
  c = std::move(b);
  EXPECT_FALSE(is_mapped(pa, 4096));
  EXPECT_EQ(c.data(), pb);
  EXPECT_EQ(c.size(), 8192U);
  c.reset();
  EXPECT_FALSE(c);
  EXPECT_FALSE(is_mapped(pb, 8192));
}

TEST(Mapping, ReportsFailureWithoutThrowing) {
  std::error_code ec;
  const auto m = shm::Mapping::map(-1, 4096, shm::AccessMode::read_write, ec);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(m);
}

TEST(FdPassing, SendsADescriptorWithTheBytes) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const shm::UniqueFd a(sv[0]);
  const shm::UniqueFd b(sv[1]);
  const auto fd = memfd(64);
  const std::string msg = "hello";
  std::error_code ec;
  EXPECT_EQ(shm::wire::send_with_fd(a.get(), std::as_bytes(std::span(msg.data(), msg.size())), fd.get(), ec),
            msg.size());
  ASSERT_FALSE(ec);
  std::array<std::byte, 64> buf{};
  std::vector<shm::UniqueFd> fds;
  EXPECT_EQ(shm::wire::recv_with_fds(b.get(), buf, fds, ec), msg.size());
  ASSERT_EQ(fds.size(), 1U);
  struct stat s1 {
  }, s2{};
  ASSERT_EQ(::fstat(fd.get(), &s1), 0);
  ASSERT_EQ(::fstat(fds[0].get(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  EXPECT_EQ(::fcntl(fds[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

}  // namespace
