// The segment's robust mutex across real processes: a holder killed or gone while holding the
// lock, a handle dropped while its lock is held, and a holder that unmaps the segment.

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "raw_client.hpp"
#include "segment_queries.hpp"
#include "shm/segment_layout.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"

namespace {

using namespace std::chrono_literals;
using shm::Errc;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::peer_command;
using shm::test::RawClient;
using shm::test::refcount;
namespace pb = shmd::v1;

TEST(OwnerDied, LockHeldByKilledProcessIsRecoveredWithOwnerDied) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("guarded", 1);

  ChildProcess holder(peer_command(daemon.socket_path(), {"lock-and-wait", "guarded"}));
  ASSERT_EQ(holder.read_line(), "locked");
  EXPECT_FALSE(v.segment().try_lock()) << "the peer holds the lock";
  holder.kill(SIGKILL);
  holder.wait();

  auto guard = v.lock();
  EXPECT_TRUE(guard.owns_lock());
  EXPECT_TRUE(guard.owner_died());
  v.get() = 2;  // usable after recovery
  guard.unlock();

  auto again = v.lock();
  EXPECT_TRUE(again.owns_lock());
  EXPECT_FALSE(again.owner_died());
  EXPECT_EQ(v.get(), 2);
}

TEST(OwnerDied, AnotherProcessRecoversALockFromAKilledHolderWithoutHanging) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_array<double>("guarded.array", 3);

  ChildProcess holder(peer_command(daemon.socket_path(), {"lock-and-wait", "guarded.array"}));
  ASSERT_EQ(holder.read_line(), "locked");
  holder.kill(SIGKILL);
  holder.wait();

  // read_line's timeout turns a hang into a failure; the peer is killed on destruction.
  ChildProcess recoverer(peer_command(daemon.socket_path(), {"lock-and-report", "guarded.array"}));
  EXPECT_EQ(recoverer.read_line(20s), "owner_died=1");
  EXPECT_EQ(recoverer.wait(30s).exit_code, 0);

  ChildProcess next(peer_command(daemon.socket_path(), {"lock-and-report", "guarded.array"}));
  EXPECT_EQ(next.read_line(20s), "owner_died=0");
  EXPECT_EQ(next.wait(30s).exit_code, 0);

  auto guard = v.lock();
  EXPECT_FALSE(guard.owner_died());
}

TEST(OwnerDied, AHandleDroppedWhileItsLockIsHeldStaysMappedUntilTheUnlock) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  shm::LockGuard guard;
  {
    auto v = client.create_value<int>("held", 1);
    guard = v.lock();
    ++v.get();
  }  // the handle goes while this thread holds its lock
  EXPECT_EQ(refcount(client, "held"), 1) << "the reference stays until the lock is released";

  // Segments mapped meanwhile (possibly where "held" was, had it been unmapped) lock and unlock
  // normally: this thread's robust list, which names the held mutex, is intact.
  auto other = client.create_value<int>("other", 0);
  for (int i = 0; i < 3; ++i) {
    auto g = other.lock();
    ++other.get();
  }
  EXPECT_EQ(other.load(), 3);

  guard.unlock();  // releases the lock, then unmaps the segment and drops the reference
  EXPECT_EQ(refcount(client, "held"), 0);
  ChildProcess next(peer_command(daemon.socket_path(), {"lock-and-report", "held"}));
  EXPECT_EQ(next.read_line(20s), "owner_died=0") << "released, not abandoned";
  EXPECT_EQ(next.wait(30s).exit_code, 0);
  EXPECT_EQ(client.attach_value<int>("held").load(), 2);
}

TEST(OwnerDied, DetachIsRefusedWhileThisThreadHoldsTheLock) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("busy");
  auto guard = v.lock();
  std::error_code ec;
  v.segment().detach(ec);
  EXPECT_EQ(ec, shm::Errc::invalid_argument);
  EXPECT_NE(shm::last_error_message().find("release the LockGuard"), std::string::npos) << shm::last_error_message();
  EXPECT_TRUE(v.segment().valid()) << "nothing changed";
  EXPECT_EQ(refcount(client, "busy"), 1);
  ++v.get();  // still mapped
  guard.unlock();
  v.segment().detach(ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(refcount(client, "busy"), 0);
}

TEST(OwnerDied, LockHeldByAProcessThatExitsNormallyIsNotReportedDead) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("released");
  ChildProcess holder(peer_command(daemon.socket_path(), {"lock-and-wait", "released"}));
  ASSERT_EQ(holder.read_line(), "locked");
  holder.close_stdin();  // the peer unlocks and exits
  EXPECT_EQ(holder.wait().exit_code, 0);
  auto guard = v.lock();
  EXPECT_FALSE(guard.owner_died());
}

/// Maps `fd` read-write, takes the mutex at offset 72 with glibc's own call, and returns the mapping.
char* map_and_lock(int fd) {
  void* p = ::mmap(nullptr, sizeof(shm::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  if (::pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(static_cast<char*>(p) + 72)) != 0) return nullptr;
  return static_cast<char*>(p);
}

TEST(OwnerDied, LockHeldByAProcessThatUnmapsTheSegmentIsNeverRecovered) {
  // The kernel finds a dead holder's robust mutexes through the mutexes themselves, at thread
  // exit: if the holder unmapped one first, that one, and those it had locked before it, stay
  // locked with a dead owner's id. A holder that keeps its mapping is recovered (EOWNERDEAD).
  DaemonProcess daemon;
  RawClient raw(daemon.socket_path());
  ASSERT_TRUE(raw.hello());
  std::vector<shm::UniqueFd> fds;
  for (const char* name : {"kept", "earlier", "unmapped"}) {
    pb::Request r;
    r.mutable_create()->set_name(name);
    r.mutable_create()->set_typecode("i");
    r.mutable_create()->set_kind(pb::VALUE);
    r.mutable_create()->set_length(1);
    auto reply = raw.call(r);
    ASSERT_TRUE(reply && reply->second.size() == 1);
    fds.push_back(std::move(reply->second[0]));
  }
  auto run_child = [](const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body());  // exits normally, after the body's munmap
    int status = 0;
    ::waitpid(pid, &status, 0);
    return std::pair{pid, status};
  };
  // One child locks "kept" and exits with it mapped.
  const int kept_status = run_child([&] { return map_and_lock(fds[0].get()) ? 0 : 1; }).second;
  ASSERT_TRUE(WIFEXITED(kept_status) && WEXITSTATUS(kept_status) == 0);
  // Another locks "earlier", then "unmapped", unmaps the latter and exits normally.
  const auto [pid, status] = run_child([&] {
    if (map_and_lock(fds[1].get()) == nullptr) return 1;
    char* p = map_and_lock(fds[2].get());
    if (p == nullptr) return 1;
    return ::munmap(p, sizeof(shm::SegmentHeader)) == 0 ? 0 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  std::vector<char*> maps;
  for (const auto& fd : fds) {
    void* p = ::mmap(nullptr, sizeof(shm::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    maps.push_back(static_cast<char*>(p));
  }
  auto mutex = [&](std::size_t i) { return reinterpret_cast<pthread_mutex_t*>(maps[i] + 72); };
  auto lock_word = [&](std::size_t i) {
    std::int32_t w = 0;
    std::memcpy(&w, maps[i] + 72, sizeof w);
    return w;
  };
  EXPECT_EQ(lock_word(0) & 0x40000000, 0x40000000) << "FUTEX_OWNER_DIED set by the kernel";
  EXPECT_EQ(::pthread_mutex_trylock(mutex(0)), EOWNERDEAD);
  EXPECT_EQ(::pthread_mutex_consistent(mutex(0)), 0);
  EXPECT_EQ(::pthread_mutex_unlock(mutex(0)), 0);
  for (std::size_t i : {1U, 2U}) {
    SCOPED_TRACE(i == 1 ? "locked before the unmapped one" : "the unmapped one");
    EXPECT_EQ(lock_word(i), pid) << "still the dead child's thread id, no FUTEX_OWNER_DIED";
    EXPECT_EQ(::pthread_mutex_trylock(mutex(i)), EBUSY);
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 200'000'000;
    if (deadline.tv_nsec >= 1'000'000'000) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1'000'000'000;
    }
    EXPECT_EQ(::pthread_mutex_clocklock(mutex(i), CLOCK_MONOTONIC, &deadline), ETIMEDOUT);
  }
  for (char* p : maps) ::munmap(p, sizeof(shm::SegmentHeader));
}

}  // namespace
