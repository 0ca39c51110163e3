// The segment mutex's inline lock and unlock: glibc 2.36's robust protocol for the common cases.
//
// What this mirrors, from glibc 2.36 (Debian glibc-source 2.36-9+deb12u*):
//   nptl/pthread_mutex_lock.c    __pthread_mutex_lock_full, case PTHREAD_MUTEX_ROBUST_*_NP
//   nptl/pthread_mutex_unlock.c  __pthread_mutex_unlock_full, cases ROBUST_RECURSIVE / ROBUST_*
//   nptl/descr.h                 ENQUEUE_MUTEX_BOTH / DEQUEUE_MUTEX (__PTHREAD_MUTEX_HAVE_PREV)
// The kernel side is ABI: struct robust_list_head (linux/futex.h), set by glibc for every thread
// with set_robust_list, walked at thread exit (kernel/futex/core.c exit_robust_list), which marks
// each mutex whose lock word holds the dead thread's TID with FUTEX_OWNER_DIED and wakes a waiter.
//
// Ordering rules taken over from glibc, each marked below:
//   - list_op_pending names the mutex before its lock word can hold our TID, and until it is in
//     (or out of) the list, so a death in between is still found by the kernel;
//   - a list entry is complete before the head points at it, and unlinked before its own __next
//     (which the kernel reads) is cleared.
// These are compiler barriers only, as in glibc: the kernel walks the list of a thread that is
// no longer running, so only program order within the thread matters.
//
// Fields another thread may read while the holder writes them (the lock word, __kind, __owner:
// unlock() looks at them before it knows whose the mutex is) are read and written as relaxed
// atomics, which on x86-64 are the plain moves glibc does. The rest (__count, __nusers, the list
// links) only the holder touches.
//
// Under ThreadSanitizer, the inline paths tell TSan they are a mutex (the __tsan_mutex_*
// annotations), and TSan's interceptors of pthread_mutex_lock/trylock/unlock see the glibc calls,
// so a lock taken one way and released the other is one mutex to TSan, with one recursion count.
// The blocking call of wait_for() and lock_for() needs help of its own (see lock_until()).

#include "shm/robust_mutex_fast.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "shm/busy_poll.hpp"

// -DSHM_ROBUST_FAST=0 builds the fallback anywhere (tests/unit builds it too, to test it).
#ifndef SHM_ROBUST_FAST
#if defined(__x86_64__) && defined(__GLIBC__) && __GLIBC__ == 2 && __GLIBC_MINOR__ == 36
#define SHM_ROBUST_FAST 1
#else
#define SHM_ROBUST_FAST 0
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

// ThreadSanitizer: GCC defines __SANITIZE_THREAD__, clang has __has_feature.
#if defined(__SANITIZE_THREAD__)
#define SHM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHM_TSAN 1
#endif
#endif
#ifndef SHM_TSAN
#define SHM_TSAN 0
#endif

#if SHM_TSAN
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>
#endif

#if SHM_ROBUST_FAST
#include <gnu/libc-version.h>

#include <cstddef>
#include <cstring>
#endif

namespace shm::robust_fast {
namespace {

/// The __owner of a robust mutex that can no longer be recovered (glibc's nptl/pthreadP.h).
constexpr int kNotRecoverable = INT_MAX - 1;  // PTHREAD_MUTEX_NOTRECOVERABLE

/// Wakes one waiter of a process-shared mutex (robust mutexes always use shared futexes).
void futex_wake_one(int* word) noexcept { ::syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

/// Lets go of the lock word of an unrecoverable mutex just taken, as glibc's lock() does before
/// it reports ENOTRECOVERABLE, and wakes a waiter so that it can find out too.
void give_back_unrecoverable(pthread_mutex_t& m) noexcept {
  m.__data.__count = 0;
  if ((static_cast<unsigned>(__atomic_exchange_n(&m.__data.__lock, 0, __ATOMIC_RELEASE)) & FUTEX_WAITERS) != 0)
    futex_wake_one(&m.__data.__lock);
}

/// contention_backoff(), in nanoseconds, for every thread of the process.
std::atomic<std::int64_t> g_backoff_ns{kDefaultContentionBackoff.count()};

/// Whether this thread backs off at all: only where another CPU can run the holder meanwhile.
/// Looked up at the thread's first contended lock.
bool backing_off_can_help() noexcept {
  thread_local constinit signed char several_cpus = -1;
  if (several_cpus < 0) several_cpus = several_cpus_usable() ? 1 : 0;
  return several_cpus == 1;
}

/// One round of a back-off: tells the CPU (and a hypervisor) that this is a wait.
[[gnu::always_inline]] inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// A contended lock's back-off (see the header): pauses for contention_backoff() without
/// touching the mutex. Returns false, at once, where it should not back off.
[[gnu::noinline]] bool back_off() noexcept {
  const std::int64_t ns = g_backoff_ns.load(std::memory_order_relaxed);
  if (ns <= 0 || !backing_off_can_help()) return false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  do {
    cpu_relax();
    cpu_relax();
  } while (std::chrono::steady_clock::now() < until);
  return true;
}

/// How long one wait for a held robust mutex sleeps before it looks at the lock word again.
constexpr long kWaitSliceNs = 100'000'000;

#if SHM_TSAN
/// Whether this TSan runtime intercepts pthread_mutex_clocklock: LLVM's does from release 18,
/// GCC 12's (Debian 12) and clang 14's do not. Intercepted, the symbol resolves outside libc.
bool clocklock_intercepted() noexcept {
  static const bool intercepted = [] {
    Dl_info clocklock{};
    Dl_info libc{};
    void* const clocklock_at = ::dlsym(RTLD_DEFAULT, "pthread_mutex_clocklock");
    void* const libc_at = ::dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
    return clocklock_at == nullptr || libc_at == nullptr || ::dladdr(clocklock_at, &clocklock) == 0 ||
           ::dladdr(libc_at, &libc) == 0 || clocklock.dli_fbase != libc.dli_fbase;
  }();
  return intercepted;
}
#endif

/// pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline); under TSan, seen by TSan too.
int lock_until(pthread_mutex_t& m, const timespec& deadline) noexcept {
#if SHM_TSAN
  if (!clocklock_intercepted()) {
    // TSan forgets an owner that died in this process only when an interceptor sees EOWNERDEAD
    // (no annotation can tell it), so look with trylock's first. An owner that dies in this
    // process while this thread sleeps below stays TSan's, which then reports a double lock.
    if (const int rc = try_lock(m); rc != EBUSY) return rc;
    __tsan_mutex_pre_lock(&m, 0);
    const int rc = ::pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline);
    __tsan_mutex_post_lock(&m, rc == 0 || rc == EOWNERDEAD ? 0 : __tsan_mutex_try_lock_failed, 0);
    return rc;
  }
#endif
  return ::pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &deadline);
}

/// pthread_mutex_lock(&m) for a robust mutex that somebody else holds, waiting in slices.
/// A robust futex can strand a waiter: if a process is killed between an unlock's release of
/// the lock word and its futex wake, and a third thread takes the free lock in that window, the
/// kernel's exit handling sees an owner and wakes nobody, and the new owner's unlock sees no
/// FUTEX_WAITERS and wakes nobody either. The sleeper would wait forever for a lock that may long
/// be free. glibc's pthread_mutex_lock has that window too; slicing the wait bounds the stall to
/// one slice, and costs a sleeping waiter a wake-up per slice.
int wait_for(pthread_mutex_t& m) noexcept {
  for (;;) {
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += kWaitSliceNs;
    if (deadline.tv_nsec >= 1'000'000'000) {
      deadline.tv_nsec -= 1'000'000'000;
      ++deadline.tv_sec;
    }
    const int rc = lock_until(m, deadline);
    if (rc != ETIMEDOUT) return rc;
  }
}

/// The whole lock through glibc: the free case at trylock's cost, the back-off and one more try,
/// then the sliced wait.
int lock_through_glibc(pthread_mutex_t& m) noexcept {
  int rc = try_lock(m);
  if (rc == EBUSY && back_off()) rc = try_lock(m);
  return rc == EBUSY ? wait_for(m) : rc;
}

/// This thread's run_after_release() actions, each with the mutex it waits for.
struct Pending {
  pthread_mutex_t* mutex;                  ///< stays mapped until `action` has run
  std::unique_ptr<ReleaseAction> action;  ///< what to do once this thread no longer holds it
};
/// Allocated on first use and never freed: at thread exit the actions must not be destroyed
/// either, since destroying one would unmap a mutex the kernel is about to find on the robust
/// list (a fault there ends its walk, and every later entry stays locked for good).
thread_local constinit std::vector<Pending>* t_pending = nullptr;
thread_local constinit bool t_has_pending = false;  ///< t_pending is not empty, cheap to test

/// After an unlock: runs the actions whose mutex this thread no longer holds. Allocates nothing.
[[gnu::noinline, gnu::cold]] void run_released() noexcept {
  std::vector<Pending>& pending = *t_pending;
  for (;;) {
    const auto it = std::find_if(pending.begin(), pending.end(),
                                 [](const Pending& p) { return !held_by_this_thread(*p.mutex); });
    if (it == pending.end()) break;
    const std::unique_ptr<ReleaseAction> action = std::move(it->action);
    pending.erase(it);
    action->run();  // may unmap the mutex, which is no longer listed
  }
  t_has_pending = !pending.empty();
}

/// An unlock's result, after running what waited for the release.
[[gnu::always_inline]] inline int released(int rc) noexcept {
  if (t_has_pending) [[unlikely]]
    run_released();
  return rc;
}

}  // namespace

void set_contention_backoff(std::chrono::nanoseconds backoff) noexcept {
  g_backoff_ns.store(std::clamp(backoff, std::chrono::nanoseconds::zero(), kMaxContentionBackoff).count(),
                     std::memory_order_relaxed);
}

std::chrono::nanoseconds contention_backoff() noexcept {
  return std::chrono::nanoseconds(g_backoff_ns.load(std::memory_order_relaxed));
}

int try_lock(pthread_mutex_t& m) noexcept {
  const int rc = ::pthread_mutex_trylock(&m);
  // glibc's trylock means to give the word back here too (see the header).
  if (rc == ENOTRECOVERABLE && __atomic_load_n(&m.__data.__owner, __ATOMIC_RELAXED) == kNotRecoverable &&
      held_by_this_thread(m))
    give_back_unrecoverable(m);
  return rc;
}

int lock_for(pthread_mutex_t& m, std::chrono::nanoseconds timeout) noexcept {
  int rc = try_lock(m);
  if (rc == EBUSY && timeout > std::chrono::nanoseconds::zero() && back_off()) rc = try_lock(m);
  if (rc != EBUSY) return rc;
  // steady_clock is CLOCK_MONOTONIC on Linux; each wait is one of wait_for()'s slices at most.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto now = std::chrono::steady_clock::now(); now < deadline; now = std::chrono::steady_clock::now()) {
    const auto slice = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::nanoseconds(kWaitSliceNs));
    timespec until{};
    ::clock_gettime(CLOCK_MONOTONIC, &until);
    const long long ns = static_cast<long long>(until.tv_nsec) + slice.count();
    until.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    until.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    rc = lock_until(m, until);
    if (rc != ETIMEDOUT) return rc;
  }
  return ETIMEDOUT;
}

void run_after_release(pthread_mutex_t& m, std::unique_ptr<ReleaseAction> action) noexcept {
  if (!held_by_this_thread(m)) {
    action->run();
    return;
  }
  try {
    if (t_pending == nullptr) {
      t_pending = new std::vector<Pending>();
#if defined(__SANITIZE_ADDRESS__)
      __lsan_ignore_object(t_pending);  // kept past thread exit on purpose (see t_pending)
#endif
    }
    t_pending->reserve(t_pending->size() + 1);
  } catch (const std::bad_alloc&) {
    (void)action.release();  // leaked on purpose: destroying it could unmap `m` while it is held
    return;
  }
  t_pending->push_back(Pending{&m, std::move(action)});  // within capacity: cannot throw
  t_has_pending = true;
}

#if SHM_ROBUST_FAST
namespace {

// glibc-internal constants (nptl/pthreadP.h): the robust mutex kinds.
constexpr int kKindMask = 127;               // PTHREAD_MUTEX_KIND_MASK_NP + the ROBUST bit
constexpr int kRobustNormal = 16;            // PTHREAD_MUTEX_ROBUST_NORMAL_NP
constexpr int kRobustRecursive = 17;         // PTHREAD_MUTEX_ROBUST_RECURSIVE_NP

// The list node is __pthread_list_t {__prev, __next}; list pointers point at a node's __next.
constexpr std::size_t kNextOffset = offsetof(__pthread_list_t, __next);  // QUEUE_PTR_ADJUST
constexpr long kFutexOffset =
    static_cast<long>(offsetof(pthread_mutex_t, __data.__lock)) - static_cast<long>(offsetof(pthread_mutex_t, __data.__list.__next));

static_assert(sizeof(pthread_mutex_t) == 40 && offsetof(pthread_mutex_t, __data.__lock) == 0 &&
                  offsetof(pthread_mutex_t, __data.__count) == 4 && offsetof(pthread_mutex_t, __data.__owner) == 8 &&
                  offsetof(pthread_mutex_t, __data.__nusers) == 12 && offsetof(pthread_mutex_t, __data.__kind) == 16 &&
                  offsetof(pthread_mutex_t, __data.__list) == 24 && kNextOffset == 8 && kFutexOffset == -32,
              "the glibc 2.36 x86-64 pthread_mutex_t layout this file mirrors");

/// The calling thread's robust list, as glibc registered it; found once per thread.
struct ThreadState {
  int tid = 0;                        ///< 0: not looked up yet in this thread (or this process)
  robust_list_head* head = nullptr;  ///< nullptr: use pthread_mutex_* in this thread
};
thread_local constinit ThreadState t_state{};

// A fork()ed child's only thread has a new TID, and glibc gave it a fresh, empty list.
void forget_after_fork() noexcept { t_state = ThreadState{}; }

bool glibc_is_the_one_mirrored() noexcept {
  static const bool ok = [] {
    if (::pthread_atfork(nullptr, nullptr, &forget_after_fork) != 0) return false;
    return std::strcmp(::gnu_get_libc_version(), "2.36") == 0;
  }();
  return ok;
}

[[gnu::noinline, gnu::cold]] ThreadState& look_up_thread() noexcept {
  t_state.tid = static_cast<int>(::syscall(SYS_gettid));
  t_state.head = nullptr;
  robust_list_head* head = nullptr;
  std::size_t len = 0;
  if (glibc_is_the_one_mirrored() && ::syscall(SYS_get_robust_list, 0, &head, &len) == 0 && head != nullptr &&
      len == sizeof(robust_list_head) && head->futex_offset == kFutexOffset)
    t_state.head = head;
  return t_state;
}

[[gnu::always_inline]] inline ThreadState& thread_state() noexcept {
  if (t_state.tid != 0) [[likely]]
    return t_state;
  return look_up_thread();
}

/// As glibc's `__asm ("" ::: "memory")`.
[[gnu::always_inline]] inline void compiler_barrier() noexcept { std::atomic_signal_fence(std::memory_order_seq_cst); }

/// The node whose __next field `p` points at (list pointers may carry a low tag bit).
[[gnu::always_inline]] inline __pthread_list_t* node_of(void* p) noexcept {
  return reinterpret_cast<__pthread_list_t*>((reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{1}) - kNextOffset);
}

/// The lock word 0 -> tid, after a look that leaves the cache line shared while it is held.
[[gnu::always_inline]] inline bool take_if_free(int& word, int tid) noexcept {
  int expected = 0;
  return __atomic_load_n(&word, __ATOMIC_RELAXED) == 0 &&
         __atomic_compare_exchange_n(&word, &expected, tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/// ENQUEUE_MUTEX: push `m` at the head of the thread's list. The head's "node" is glibc's
/// robust_prev field followed by robust_head.list, so node_of(head) is valid, as in glibc.
[[gnu::always_inline]] inline void enqueue(robust_list_head* head, pthread_mutex_t& m) noexcept {
  auto& list = m.__data.__list;
  void* first = head->list.next;
  node_of(first)->__prev = reinterpret_cast<__pthread_list_t*>(&list.__next);
  list.__next = static_cast<__pthread_list_t*>(first);
  list.__prev = reinterpret_cast<__pthread_list_t*>(head);
  compiler_barrier();  // the entry is complete before the head points at it
  head->list.next = reinterpret_cast<robust_list*>(&list.__next);
}

/// DEQUEUE_MUTEX: unlink `m` from whichever position it holds in the thread's list.
[[gnu::always_inline]] inline void dequeue(pthread_mutex_t& m) noexcept {
  auto& list = m.__data.__list;
  node_of(list.__next)->__prev = list.__prev;
  node_of(list.__prev)->__next = list.__next;
  compiler_barrier();  // unlinked before the entry's own __next, which the kernel reads, is cleared
  list.__prev = nullptr;
  list.__next = nullptr;
}

/// TSan's view of the inline paths (ThreadSanitizer builds only; nothing otherwise). Between a
/// pre_ and a post_ annotation TSan ignores the accesses, which are the mutex's own. A segment
/// mutex is never pthread_mutex_init()ed in a client (the daemon did that), so its kind travels
/// with each lock, as the annotations allow for a mutex TSan saw no constructor of.
struct Tsan {
#if SHM_TSAN
  static unsigned flags(int kind) noexcept { return kind == kRobustRecursive ? __tsan_mutex_write_reentrant : 0; }
  static void pre_lock(pthread_mutex_t& m, int kind) noexcept { __tsan_mutex_pre_lock(&m, flags(kind)); }
  static void locked(pthread_mutex_t& m, int kind) noexcept { __tsan_mutex_post_lock(&m, flags(kind), 0); }
  /// The lock operation ended without the lock: nothing changed for TSan.
  static void not_locked(pthread_mutex_t& m, int kind) noexcept {
    __tsan_mutex_post_lock(&m, flags(kind) | __tsan_mutex_try_lock_failed, 0);
  }
  /// Around work inside a lock operation that is not the mutex's (the back-off): checked as usual.
  static void pre_divert(pthread_mutex_t& m) noexcept { __tsan_mutex_pre_divert(&m, 0); }
  static void post_divert(pthread_mutex_t& m) noexcept { __tsan_mutex_post_divert(&m, 0); }
  static void pre_unlock(pthread_mutex_t& m) noexcept { (void)__tsan_mutex_pre_unlock(&m, 0); }
  static void unlocked(pthread_mutex_t& m) noexcept { __tsan_mutex_post_unlock(&m, 0); }
#else
  static void pre_lock(pthread_mutex_t&, int) noexcept {}
  static void locked(pthread_mutex_t&, int) noexcept {}
  static void not_locked(pthread_mutex_t&, int) noexcept {}
  static void pre_divert(pthread_mutex_t&) noexcept {}
  static void post_divert(pthread_mutex_t&) noexcept {}
  static void pre_unlock(pthread_mutex_t&) noexcept {}
  static void unlocked(pthread_mutex_t&) noexcept {}
#endif
};

}  // namespace

int lock(pthread_mutex_t& m) noexcept {
  ThreadState& self = thread_state();
  auto& d = m.__data;
  const int kind = __atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & kKindMask;
  robust_list_head* const head = self.head;
  if (kind != kRobustNormal && kind != kRobustRecursive) [[unlikely]]
    return ::pthread_mutex_lock(&m);  // not what shmd made: glibc, as it stands
  if (head == nullptr) [[unlikely]]
    return lock_through_glibc(m);

  Tsan::pre_lock(m, kind);
  head->list_op_pending = reinterpret_cast<robust_list*>(&d.__list.__next);
  compiler_barrier();  // op_pending names the mutex before the lock word can hold our TID
  int seen = 0;
  if (!__atomic_compare_exchange_n(&d.__lock, &seen, self.tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) [[unlikely]] {
    if ((seen & FUTEX_TID_MASK) == self.tid && kind == kRobustRecursive) {  // ours already: one level deeper
      head->list_op_pending = nullptr;
      if (d.__count + 1 == 0) {
        Tsan::not_locked(m, kind);
        return EAGAIN;
      }
      ++d.__count;
      Tsan::locked(m, kind);
      return 0;
    }
    // Held by another thread: back off, then look once more. Still held, its owner dead
    // (FUTEX_OWNER_DIED), or ours (EDEADLK): glibc waits, recovers or refuses, setting op_pending
    // again itself.
    const bool another_holds = (seen & FUTEX_OWNER_DIED) == 0 && (seen & FUTEX_TID_MASK) != self.tid;
    bool taken = false;
    if (another_holds) {
      Tsan::pre_divert(m);
      const bool backed_off = back_off();
      Tsan::post_divert(m);
      taken = backed_off && take_if_free(d.__lock, self.tid);
    }
    if (!taken) {
      Tsan::not_locked(m, kind);
      return wait_for(m);
    }
  }
  if (__atomic_load_n(&d.__owner, __ATOMIC_RELAXED) == kNotRecoverable) [[unlikely]] {  // as glibc: hand it back, report it
    give_back_unrecoverable(m);
    head->list_op_pending = nullptr;
    Tsan::not_locked(m, kind);
    return ENOTRECOVERABLE;
  }
  d.__count = 1;
  compiler_barrier();  // acquired before it is enqueued
  enqueue(head, m);
  compiler_barrier();  // enqueued before op_pending is cleared
  head->list_op_pending = nullptr;
  __atomic_store_n(&d.__owner, self.tid, __ATOMIC_RELAXED);
  ++d.__nusers;
  Tsan::locked(m, kind);
  return 0;
}

int unlock(pthread_mutex_t& m) noexcept {
  ThreadState& self = thread_state();
  auto& d = m.__data;
  const int kind = __atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & kKindMask;
  robust_list_head* const head = self.head;
  // Not ours (EPERM), or ours after a dead owner and never made consistent (glibc then marks it
  // not recoverable; __owner is PTHREAD_MUTEX_INCONSISTENT, not our TID): glibc decides.
  if (head == nullptr || (kind != kRobustNormal && kind != kRobustRecursive) ||
      __atomic_load_n(&d.__owner, __ATOMIC_RELAXED) != self.tid ||
      (__atomic_load_n(&d.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != self.tid) [[unlikely]]
    return released(::pthread_mutex_unlock(&m));
  Tsan::pre_unlock(m);
  if (kind == kRobustRecursive && --d.__count != 0) {  // still held one level up
    Tsan::unlocked(m);
    return 0;
  }

  head->list_op_pending = reinterpret_cast<robust_list*>(&d.__list.__next);
  compiler_barrier();  // op_pending names the mutex before it leaves the list
  dequeue(m);
  __atomic_store_n(&d.__owner, 0, __ATOMIC_RELAXED);
  --d.__nusers;
  if ((static_cast<unsigned>(__atomic_exchange_n(&d.__lock, 0, __ATOMIC_RELEASE)) & FUTEX_WAITERS) != 0) [[unlikely]]
    futex_wake_one(&d.__lock);
  compiler_barrier();  // released before op_pending is cleared
  head->list_op_pending = nullptr;
  Tsan::unlocked(m);
  return released(0);
}

bool active() noexcept { return thread_state().head != nullptr; }

bool held_by_this_thread(const pthread_mutex_t& m) noexcept {
  return (__atomic_load_n(&m.__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) == thread_state().tid;
}

#else  // not glibc 2.36 on x86-64: glibc's own calls

int lock(pthread_mutex_t& m) noexcept { return lock_through_glibc(m); }
int unlock(pthread_mutex_t& m) noexcept { return released(::pthread_mutex_unlock(&m)); }
bool active() noexcept { return false; }
bool held_by_this_thread(const pthread_mutex_t& m) noexcept {
  return (__atomic_load_n(&m.__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) == static_cast<int>(::gettid());
}

#endif

}  // namespace shm::robust_fast
