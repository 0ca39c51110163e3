// The segment mutex across real processes: robust, recursive, owner-died recovery.

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "shm/robust_mutex.hpp"
#include "shm/wire/framing.hpp"

namespace {

using shm::wire::append_frame;
using shm::wire::append_varint;
using shm::wire::FrameDecoder;
using shm::wire::FrameError;
using shm::wire::kMaxFrameBytes;

// ---------------------------------------------------------------------------------------------
// The robust mutex, across real processes

/// A process-shared mutex in an anonymous MAP_SHARED mapping, so fork()ed children share it.
class SharedMutex {
 public:
  SharedMutex() {
    void* p = ::mmap(nullptr, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) mutex_ = static_cast<pthread_mutex_t*>(p);
  }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;
  ~SharedMutex() {
    if (mutex_ != nullptr) ::munmap(mutex_, sizeof(pthread_mutex_t));
  }
  pthread_mutex_t& get() { return *mutex_; }
  explicit operator bool() const { return mutex_ != nullptr; }

 private:
  pthread_mutex_t* mutex_ = nullptr;  ///< the shared mutex
};

/// Forks a child that locks `m` and exits (without unlocking) as soon as `release` reaches EOF.
/// Returns after the child holds the lock.
pid_t fork_lock_holder(pthread_mutex_t& m, int& release_write) {
  int hold[2];
  int ready[2];
  if (::pipe(hold) != 0 || ::pipe(ready) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(hold[1]);
    ::close(ready[0]);
    std::error_code ec;
    const auto state = shm::lock_robust_mutex(m, ec);
    const char c = (ec || state == shm::LockState::busy) ? 'E' : 'L';
    if (::write(ready[1], &c, 1) != 1) ::_exit(3);
    char ignored;
    while (::read(hold[0], &ignored, 1) > 0) {
    }
    ::_exit(0);  // dies holding the lock
  }
  ::close(hold[0]);
  ::close(ready[1]);
  char c = '?';
  const bool ok = ::read(ready[0], &c, 1) == 1 && c == 'L';
  ::close(ready[0]);
  release_write = hold[1];
  return ok ? pid : -pid;
}

TEST(RobustMutex, RecoversFromAnOwnerThatDiedHoldingIt) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::error_code ec;
    const auto state = shm::lock_robust_mutex(shared.get(), ec);
    ::_exit(!ec && state == shm::LockState::acquired ? 0 : 1);  // exits holding the lock
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  std::error_code ec;
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::owner_died);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));

  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
}

TEST(RobustMutex, TryLockSeesABusyLockThenRecoversItWhenTheHolderDies) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));
  int release = -1;
  const pid_t child = fork_lock_holder(shared.get(), release);
  ASSERT_GT(child, 0) << "the child could not take the lock";

  std::error_code ec;
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::busy);
  EXPECT_FALSE(ec);

  ::close(release);  // the child exits still holding the lock
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::owner_died);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
}

TEST(RobustMutex, IsRecursiveLikePythonsRLock) {
  SharedMutex shared;
  ASSERT_TRUE(shared);
  ASSERT_FALSE(shm::init_robust_mutex(shared.get()));
  std::error_code ec;
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_EQ(shm::lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_EQ(shm::try_lock_robust_mutex(shared.get(), ec), shm::LockState::acquired);
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));
  EXPECT_FALSE(shm::unlock_robust_mutex(shared.get()));

  // Fully released: another process can take it at once.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::error_code cec;
    const auto state = shm::try_lock_robust_mutex(shared.get(), cec);
    ::_exit(state == shm::LockState::acquired && !cec ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
