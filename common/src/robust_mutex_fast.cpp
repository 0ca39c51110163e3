// The segment mutex's inline lock and unlock: glibc 2.36's robust protocol for the common cases.
// This file is the glibc mirror alone; the lock's other parts have files of their own: the
// contention back-off (contention_backoff.cpp), the sliced wait for a held mutex and lock_for()
// (robust_wait.cpp), and the actions that wait for a release (release_after_unlock.cpp).
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
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "release_hook.hpp"
#include "robust_wait.hpp"
#include "shm/change_word.hpp"
#include "shm/contention_backoff.hpp"
#include "tsan.hpp"

// -DSHM_ROBUST_FAST=0 builds the fallback anywhere (tests/unit builds it too, to test it).
#ifndef SHM_ROBUST_FAST
#if defined(__x86_64__) && defined(__GLIBC__) && __GLIBC__ == 2 && __GLIBC_MINOR__ == 36
#define SHM_ROBUST_FAST 1
#else
#define SHM_ROBUST_FAST 0
#endif
#endif

#if SHM_TSAN
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

/// This thread has run_after_release() actions waiting: cheap to test, in this file so that
/// unlock()'s fast path reads a variable of its own translation unit.
thread_local constinit bool t_has_pending = false;

/// An unlock's result, after running what waited for the release.
[[gnu::always_inline]] inline int released(int rc) noexcept {
  if (t_has_pending) [[unlikely]]
    run_released();
  return rc;
}

}  // namespace

void set_release_pending(bool pending) noexcept { t_has_pending = pending; }

int try_lock(pthread_mutex_t& m) noexcept {
  const int rc = ::pthread_mutex_trylock(&m);
  // glibc's trylock means to give the word back here too (see the header).
  if (rc == ENOTRECOVERABLE && __atomic_load_n(&m.__data.__owner, __ATOMIC_RELAXED) == kNotRecoverable &&
      held_by_this_thread(m))
    give_back_unrecoverable(m);
  return rc;
}

#if SHM_ROBUST_FAST
namespace {

// glibc-internal constants (nptl/pthreadP.h): the robust mutex kinds.
constexpr int kKindMask = 127;        // PTHREAD_MUTEX_KIND_MASK_NP + the ROBUST bit
constexpr int kRobustNormal = 16;     // PTHREAD_MUTEX_ROBUST_NORMAL_NP
constexpr int kRobustRecursive = 17;  // PTHREAD_MUTEX_ROBUST_RECURSIVE_NP

// The list node is __pthread_list_t {__prev, __next}; list pointers point at a node's __next.
constexpr std::size_t kNextOffset = offsetof(__pthread_list_t, __next);  // QUEUE_PTR_ADJUST
constexpr long kFutexOffset = static_cast<long>(offsetof(pthread_mutex_t, __data.__lock)) -
                              static_cast<long>(offsetof(pthread_mutex_t, __data.__list.__next));

static_assert(sizeof(pthread_mutex_t) == 40 && offsetof(pthread_mutex_t, __data.__lock) == 0 &&
                  offsetof(pthread_mutex_t, __data.__count) == 4 && offsetof(pthread_mutex_t, __data.__owner) == 8 &&
                  offsetof(pthread_mutex_t, __data.__nusers) == 12 && offsetof(pthread_mutex_t, __data.__kind) == 16 &&
                  offsetof(pthread_mutex_t, __data.__list) == 24 && kNextOffset == 8 && kFutexOffset == -32,
              "the glibc 2.36 x86-64 pthread_mutex_t layout this file mirrors");

/// The calling thread's robust list, as glibc registered it; found once per thread.
struct ThreadState {
  int tid = 0;                       ///< 0: not looked up yet in this thread (or this process)
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
  if (!__atomic_compare_exchange_n(&d.__lock, &seen, self.tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      [[unlikely]] {
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
  if (__atomic_load_n(&d.__owner, __ATOMIC_RELAXED) == kNotRecoverable)
      [[unlikely]] {  // as glibc: hand it back, report it
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

namespace {

/// pthread_mutex_unlock(&m), without running what waits for the release (the callers do).
[[gnu::always_inline]] inline int release(pthread_mutex_t& m) noexcept {
  ThreadState& self = thread_state();
  auto& d = m.__data;
  const int kind = __atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & kKindMask;
  robust_list_head* const head = self.head;
  // Not ours (EPERM), or ours after a dead owner and never made consistent (glibc then marks it
  // not recoverable; __owner is PTHREAD_MUTEX_INCONSISTENT, not our TID): glibc decides.
  if (head == nullptr || (kind != kRobustNormal && kind != kRobustRecursive) ||
      __atomic_load_n(&d.__owner, __ATOMIC_RELAXED) != self.tid ||
      (__atomic_load_n(&d.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != self.tid) [[unlikely]]
    return ::pthread_mutex_unlock(&m);
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
  // glibc's exchange is a release; seq_cst is the same xchg on x86-64, and says what
  // unlock_and_notify() relies on: the critical section's writes are ordered before its look.
  if ((static_cast<unsigned>(__atomic_exchange_n(&d.__lock, 0, __ATOMIC_SEQ_CST)) & FUTEX_WAITERS) != 0) [[unlikely]]
    futex_wake_one(&d.__lock);
  compiler_barrier();  // released before op_pending is cleared
  head->list_op_pending = nullptr;
  Tsan::unlocked(m);
  return 0;
}

}  // namespace

int unlock(pthread_mutex_t& m) noexcept { return released(release(m)); }

int unlock_and_notify(pthread_mutex_t& m, std::uint32_t& changes) noexcept {
  const int rc = release(m);
  change_word::notify_after_seq_cst(changes);  // before an action of run_after_release() unmaps it
  return released(rc);
}

bool active() noexcept { return thread_state().head != nullptr; }

bool held_by_this_thread(const pthread_mutex_t& m) noexcept {
  return (__atomic_load_n(&m.__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) == thread_state().tid;
}

#else  // not glibc 2.36 on x86-64: glibc's own calls

int lock(pthread_mutex_t& m) noexcept { return lock_through_glibc(m); }
int unlock(pthread_mutex_t& m) noexcept { return released(::pthread_mutex_unlock(&m)); }
int unlock_and_notify(pthread_mutex_t& m, std::uint32_t& changes) noexcept {
  const int rc = ::pthread_mutex_unlock(&m);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // glibc's release is not one everywhere
  change_word::notify_after_seq_cst(changes);
  return released(rc);
}
bool active() noexcept { return false; }
bool held_by_this_thread(const pthread_mutex_t& m) noexcept {
  return (__atomic_load_n(&m.__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) == static_cast<int>(::gettid());
}

#endif

}  // namespace shm::robust_fast
