#pragma once
// Inline fast path for glibc robust process-shared mutexes (x86-64, glibc 2.36 verified).
//
// Route (ii): operate on a real pthread_mutex_t (kind ROBUST_NORMAL or ROBUST_RECURSIVE, pshared)
// following glibc's exact robust protocol (nptl/pthread_mutex_lock.c __pthread_mutex_lock_full,
// nptl/pthread_mutex_unlock.c __pthread_mutex_unlock_full, ENQUEUE_MUTEX/DEQUEUE_MUTEX in
// nptl/descr.h).  Only the uncontended acquire, the recursive re-acquire and the owner's release
// are inlined; anything else (contention, FUTEX_OWNER_DIED, INCONSISTENT, errors, other kinds)
// falls back to pthread_mutex_lock/unlock, which therefore stay fully interoperable.
//
// Route (i): OwnRobustLock, a private struct whose futex word and list node sit at the same
// relative offsets as in pthread_mutex_t, so it can be linked into glibc's per-thread robust
// list (the kernel walks it with one futex_offset = -32).  Own slow path (glibc's algorithm).

#include <gnu/libc-version.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace rf {

// Mirror of the kernel's / glibc's struct robust_list_head (glibc keeps `void* robust_prev`
// immediately before it in struct pthread: DEQUEUE/ENQUEUE write it as head's "__prev").
struct RobustHead {
  void* list;
  long futex_offset;
  void* list_op_pending;
};

constexpr int kRobustNormal = 16;     // PTHREAD_MUTEX_ROBUST_NORMAL_NP (glibc-internal)
constexpr int kRobustRecursive = 17;  // PTHREAD_MUTEX_ROBUST_RECURSIVE_NP
constexpr int kInconsistent = INT_MAX;        // PTHREAD_MUTEX_INCONSISTENT
constexpr int kNotRecoverable = INT_MAX - 1;  // PTHREAD_MUTEX_NOTRECOVERABLE
constexpr std::ptrdiff_t kNextAdj = offsetof(__pthread_list_t, __next);  // QUEUE_PTR_ADJUST
constexpr long kGlibcFutexOffset =
    long(offsetof(pthread_mutex_t, __data.__lock)) - long(offsetof(pthread_mutex_t, __data.__list.__next));

static_assert(sizeof(pthread_mutex_t) == 40 && offsetof(pthread_mutex_t, __data.__lock) == 0 &&
              offsetof(pthread_mutex_t, __data.__count) == 4 && offsetof(pthread_mutex_t, __data.__owner) == 8 &&
              offsetof(pthread_mutex_t, __data.__nusers) == 12 && offsetof(pthread_mutex_t, __data.__kind) == 16 &&
              offsetof(pthread_mutex_t, __data.__list) == 24 && kGlibcFutexOffset == -32,
              "glibc x86-64 pthread_mutex_t layout");

struct ThreadCtx {
  int tid;           // 0 = not initialised in this thread (reset in the child after fork)
  RobustHead* head;  // glibc's registered robust_list_head, or nullptr: fast path disabled
};
inline thread_local constinit ThreadCtx t_ctx{0, nullptr};

inline void atfork_child() noexcept { t_ctx.tid = 0; t_ctx.head = nullptr; }

// Validated once per thread (and again in a fork child).
[[gnu::noinline, gnu::cold]] inline ThreadCtx& ctx_init() noexcept {
  static const bool glibc_ok = [] {
    ::pthread_atfork(nullptr, nullptr, &atfork_child);
    return std::strcmp(::gnu_get_libc_version(), "2.36") == 0;  // versions whose protocol was checked
  }();
  t_ctx.tid = static_cast<int>(::syscall(SYS_gettid));
  t_ctx.head = nullptr;
  RobustHead* h = nullptr;
  std::size_t len = 0;
  if (glibc_ok && ::syscall(SYS_get_robust_list, 0, &h, &len) == 0 && h != nullptr &&
      len == sizeof(RobustHead) && h->futex_offset == kGlibcFutexOffset)
    t_ctx.head = h;
  return t_ctx;
}
[[gnu::always_inline]] inline ThreadCtx& ctx() noexcept {
  if (__builtin_expect(t_ctx.tid != 0, 1)) return t_ctx;
  return ctx_init();
}

[[gnu::always_inline]] inline void cbar() noexcept { std::atomic_signal_fence(std::memory_order_seq_cst); }
[[gnu::always_inline]] inline __pthread_list_t* node_of(void* p) noexcept {  // pointer-to-__next -> node
  return reinterpret_cast<__pthread_list_t*>((reinterpret_cast<std::uintptr_t>(p) & ~1ul) - kNextAdj);
}
inline void futex_wake_shared(int* w) noexcept { ::syscall(SYS_futex, w, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

// ENQUEUE_MUTEX (glibc descr.h, __PTHREAD_MUTEX_HAVE_PREV variant), `node` = &mutex.__list.__next.
[[gnu::always_inline]] inline void enqueue(RobustHead* h, __pthread_list_t* list) noexcept {
  void* first = h->list;
  node_of(first)->__prev = reinterpret_cast<__pthread_list_t*>(&list->__next);
  list->__next = static_cast<__pthread_list_t*>(first);
  list->__prev = reinterpret_cast<__pthread_list_t*>(h);
  cbar();  // entry complete before it becomes reachable from the head
  h->list = &list->__next;
}
// DEQUEUE_MUTEX
[[gnu::always_inline]] inline void dequeue(__pthread_list_t* list) noexcept {
  node_of(list->__next)->__prev = list->__prev;
  node_of(list->__prev)->__next = list->__next;
  cbar();  // unlinked before the entry's own __next (read by the kernel) is cleared
  list->__prev = nullptr;
  list->__next = nullptr;
}

inline long mono_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Route (ii): fast path on a real glibc robust pthread_mutex_t. With BackoffNs > 0 (adopted, as
// shm::robust_fast's contention back-off): on contention, pause for BackoffNs without touching
// the mutex, look once more, and take it if free; otherwise glibc.
template <long BackoffNs = 0>
[[gnu::always_inline]] inline int lock(pthread_mutex_t* m) noexcept {
  ThreadCtx& c = ctx();
  auto& d = m->__data;
  const int kind = __atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & 127;
  RobustHead* h = c.head;
  if (__builtin_expect(h == nullptr || (kind != kRobustNormal && kind != kRobustRecursive), 0))
    return ::pthread_mutex_lock(m);
  h->list_op_pending = &d.__list.__next;
  cbar();  // op_pending set before the lock word can hold our TID
  int seen = 0;
  if (__builtin_expect(!__atomic_compare_exchange_n(&d.__lock, &seen, c.tid, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED), 0)) {
    if ((seen & FUTEX_TID_MASK) == c.tid && kind == kRobustRecursive) {  // re-lock: as glibc
      h->list_op_pending = nullptr;
      if (d.__count + 1 == 0) return EAGAIN;
      ++d.__count;
      return 0;
    }
    if constexpr (BackoffNs > 0) {
      if (seen & FUTEX_OWNER_DIED) return ::pthread_mutex_lock(m);
      const long until = mono_ns() + BackoffNs;
      do {
        __builtin_ia32_pause();
        __builtin_ia32_pause();
      } while (mono_ns() < until);
      seen = 0;
      if (__atomic_load_n(&d.__lock, __ATOMIC_RELAXED) != 0 ||
          !__atomic_compare_exchange_n(&d.__lock, &seen, c.tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return ::pthread_mutex_lock(m);
    } else {
      return ::pthread_mutex_lock(m);  // contended / OWNER_DIED / EDEADLK: glibc (re-sets op_pending)
    }
  }
  if (__builtin_expect(d.__owner == kNotRecoverable, 0)) {  // as glibc: give it back
    d.__count = 0;
    if (__atomic_exchange_n(&d.__lock, 0, __ATOMIC_RELEASE) > 1) futex_wake_shared(&d.__lock);
    h->list_op_pending = nullptr;
    return ENOTRECOVERABLE;
  }
  d.__count = 1;
  cbar();  // acquired before enqueued
  enqueue(h, &d.__list);
  cbar();  // enqueued before op_pending is cleared
  h->list_op_pending = nullptr;
  d.__owner = c.tid;
  ++d.__nusers;
  return 0;
}

[[gnu::always_inline]] inline int unlock(pthread_mutex_t* m) noexcept {
  ThreadCtx& c = ctx();
  auto& d = m->__data;
  const int kind = __atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & 127;
  RobustHead* h = c.head;
  // __owner == tid excludes INCONSISTENT (glibc then marks NOTRECOVERABLE) and non-owners (EPERM).
  if (__builtin_expect(h == nullptr || (kind != kRobustNormal && kind != kRobustRecursive) ||
                           d.__owner != c.tid ||
                           (__atomic_load_n(&d.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != c.tid, 0))
    return ::pthread_mutex_unlock(m);
  if (kind == kRobustRecursive && --d.__count != 0) return 0;
  h->list_op_pending = &d.__list.__next;
  cbar();  // op_pending set before dequeue
  dequeue(&d.__list);
  d.__owner = 0;
  --d.__nusers;
  if (__builtin_expect((__atomic_exchange_n(&d.__lock, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS) != 0, 0))
    futex_wake_shared(&d.__lock);
  cbar();  // released before op_pending is cleared
  h->list_op_pending = nullptr;
  return 0;
}


// Bounded read-only spin; true if the word was CASed 0 -> tid. Gives up on FUTEX_OWNER_DIED
// (glibc must report EOWNERDEAD) and after Spins rounds.
template <int Spins>
[[gnu::noinline]] inline bool lock_spin(int* word, int tid, int seen) noexcept {
  for (int i = 0; i < Spins; ++i) {
    if (seen & FUTEX_OWNER_DIED) return false;
    if (seen == 0 && __atomic_compare_exchange_n(word, &seen, tid, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return true;
    __builtin_ia32_pause();
    seen = __atomic_load_n(word, __ATOMIC_RELAXED);
  }
  return false;
}
template <>
inline bool lock_spin<0>(int*, int, int) noexcept { return false; }

// ---------------------------------------------------------------------------------------------
// Route (ii), variant 2: the caller knows the kind (checked once when the mapping is attached:
// shmd always initialises ROBUST|RECURSIVE|PSHARED), so __kind is not loaded before the CAS, and
// all writes to the mutex's cache line are issued back to back right after the CAS / right
// before the release, so a contender stealing the line costs at most one extra transfer.
// Spins > 0: on contention, spin (read-only, with pause) up to Spins times for the word to
// become 0 before falling back to glibc's futex wait (like PTHREAD_MUTEX_ADAPTIVE_NP).
template <bool Recursive, int Spins = 0, bool TestFirst = false, bool LoadKind = false>
[[gnu::always_inline]] inline int lock_known(pthread_mutex_t* m) noexcept {
  ThreadCtx& c = ctx();
  auto& d = m->__data;
  RobustHead* h = c.head;
  if (LoadKind && __builtin_expect((__atomic_load_n(&d.__kind, __ATOMIC_RELAXED) & 127) != kRobustRecursive, 0))
    return ::pthread_mutex_lock(m);
  if (__builtin_expect(h == nullptr, 0)) return ::pthread_mutex_lock(m);
  h->list_op_pending = &d.__list.__next;
  cbar();
  int seen = 0;
  if (TestFirst && __builtin_expect((seen = __atomic_load_n(&d.__lock, __ATOMIC_RELAXED)) != 0, 0)) {
    if (Recursive && (seen & FUTEX_TID_MASK) == c.tid) {
      h->list_op_pending = nullptr;
      if (d.__count + 1 == 0) return EAGAIN;
      ++d.__count;
      return 0;
    }
    return ::pthread_mutex_lock(m);
  }
  if (__builtin_expect(!__atomic_compare_exchange_n(&d.__lock, &seen, c.tid, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED), 0)) {
    if (Recursive && (seen & FUTEX_TID_MASK) == c.tid) {
      h->list_op_pending = nullptr;
      if (d.__count + 1 == 0) return EAGAIN;
      ++d.__count;
      return 0;
    }
    if (!lock_spin<Spins>(&d.__lock, c.tid, seen)) return ::pthread_mutex_lock(m);
  }
  if (__builtin_expect(d.__owner == kNotRecoverable, 0)) {
    d.__count = 0;
    if (__atomic_exchange_n(&d.__lock, 0, __ATOMIC_RELEASE) > 1) futex_wake_shared(&d.__lock);
    h->list_op_pending = nullptr;
    return ENOTRECOVERABLE;
  }
  void* first = h->list;
  d.__count = 1;
  d.__owner = c.tid;
  ++d.__nusers;
  d.__list.__next = static_cast<__pthread_list_t*>(first);
  d.__list.__prev = reinterpret_cast<__pthread_list_t*>(h);
  cbar();  // entry complete before it becomes reachable
  node_of(first)->__prev = reinterpret_cast<__pthread_list_t*>(&d.__list.__next);
  h->list = &d.__list.__next;
  cbar();
  h->list_op_pending = nullptr;
  return 0;
}

template <bool Recursive>
[[gnu::always_inline]] inline int unlock_known(pthread_mutex_t* m) noexcept {
  ThreadCtx& c = ctx();
  auto& d = m->__data;
  RobustHead* h = c.head;
  if (__builtin_expect(h == nullptr || d.__owner != c.tid ||
                           (__atomic_load_n(&d.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != c.tid, 0))
    return ::pthread_mutex_unlock(m);
  if (Recursive && --d.__count != 0) return 0;
  h->list_op_pending = &d.__list.__next;
  cbar();
  __pthread_list_t* nx = d.__list.__next;
  __pthread_list_t* pv = d.__list.__prev;
  node_of(nx)->__prev = pv;
  node_of(pv)->__next = nx;
  cbar();
  d.__list.__prev = nullptr;
  d.__list.__next = nullptr;
  d.__owner = 0;
  --d.__nusers;
  if (__builtin_expect((__atomic_exchange_n(&d.__lock, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS) != 0, 0))
    futex_wake_shared(&d.__lock);
  cbar();
  h->list_op_pending = nullptr;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Route (i): a private robust recursive lock, linked into glibc's list (layout-compatible node).
struct OwnRobustLock {
  int word = 0;            // futex: owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED
  unsigned count = 0;      // recursion depth
  int reserved[4] = {};    // offsets 8..23: free for our use (kernel/glibc never touch them)
  __pthread_list_t list{};  // offsets 24..39; list.__next at word + 32, as in pthread_mutex_t
};
static_assert(offsetof(OwnRobustLock, list) - offsetof(OwnRobustLock, word) ==
                  offsetof(pthread_mutex_t, __data.__list) - offsetof(pthread_mutex_t, __data.__lock),
              "node must be where the kernel's futex_offset expects it");

template <bool Enqueue = true>
[[gnu::noinline]] inline int own_lock_slow(OwnRobustLock* m, ThreadCtx& c, int seen) noexcept {
  // glibc's robust loop; op_pending is already set.
  RobustHead* h = c.head;
  unsigned assume_waiters = 0;
  int rc = 0;
  for (;;) {
    if (seen == 0) {
      if (__atomic_compare_exchange_n(&m->word, &seen, c.tid | int(assume_waiters), false, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED))
        break;
      continue;
    }
    if (seen & FUTEX_OWNER_DIED) {
      const int nv = c.tid | (seen & int(FUTEX_WAITERS)) | int(assume_waiters);
      if (!__atomic_compare_exchange_n(&m->word, &seen, nv, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) continue;
      rc = EOWNERDEAD;
      break;
    }
    if ((seen & FUTEX_TID_MASK) == c.tid) {  // recursion
      h->list_op_pending = nullptr;
      ++m->count;
      return 0;
    }
    if ((seen & int(FUTEX_WAITERS)) == 0) {
      const int nv = seen | int(FUTEX_WAITERS);
      if (!__atomic_compare_exchange_n(&m->word, &seen, nv, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) continue;
      seen = nv;
    }
    assume_waiters = FUTEX_WAITERS;
    ::syscall(SYS_futex, &m->word, FUTEX_WAIT, seen, nullptr, nullptr, 0);  // shared: kernel wakes by key
    seen = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
  }
  m->count = 1;
  if (!Enqueue) return rc;  // op_pending-only mode: keep op_pending pointing at m while held
  cbar();
  enqueue(h, &m->list);
  cbar();
  h->list_op_pending = nullptr;
  return rc;
}

[[gnu::always_inline]] inline int own_lock(OwnRobustLock* m) noexcept {
  ThreadCtx& c = ctx();
  RobustHead* h = c.head;
  if (__builtin_expect(h == nullptr, 0)) return ENOTSUP;  // no glibc list to join
  h->list_op_pending = &m->list.__next;
  cbar();
  int seen = 0;
  if (__builtin_expect(!__atomic_compare_exchange_n(&m->word, &seen, c.tid, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED), 0))
    return own_lock_slow(m, c, seen);
  m->count = 1;
  cbar();
  enqueue(h, &m->list);
  cbar();
  h->list_op_pending = nullptr;
  return 0;
}

[[gnu::always_inline]] inline int own_unlock(OwnRobustLock* m) noexcept {
  ThreadCtx& c = ctx();
  if (__builtin_expect((__atomic_load_n(&m->word, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != c.tid, 0)) return EPERM;
  if (--m->count != 0) return 0;
  RobustHead* h = c.head;
  h->list_op_pending = &m->list.__next;
  cbar();
  dequeue(&m->list);
  if (__builtin_expect((__atomic_exchange_n(&m->word, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS) != 0, 0))
    futex_wake_shared(&m->word);
  cbar();
  h->list_op_pending = nullptr;
  return 0;
}

// EXPERIMENT ONLY (not sound in general): protect the held lock through list_op_pending alone,
// without the list. Correct only while the thread holds no other robust lock and makes no
// glibc robust-mutex call while holding it (glibc overwrites/clears list_op_pending).
// Measures the lower bound of a robust design with no bookkeeping inside the critical section.
[[gnu::always_inline]] inline int pending_lock(OwnRobustLock* m) noexcept {
  ThreadCtx& c = ctx();
  RobustHead* h = c.head;
  h->list_op_pending = &m->list.__next;
  cbar();
  int seen = 0;
  if (__builtin_expect(!__atomic_compare_exchange_n(&m->word, &seen, c.tid, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED), 0))
    return own_lock_slow<false>(m, c, seen);
  return 0;
}
[[gnu::always_inline]] inline int pending_unlock(OwnRobustLock* m) noexcept {
  RobustHead* h = t_ctx.head;
  if (__builtin_expect((__atomic_exchange_n(&m->word, 0, __ATOMIC_RELEASE) & FUTEX_WAITERS) != 0, 0))
    futex_wake_shared(&m->word);
  cbar();
  h->list_op_pending = nullptr;
  return 0;
}

}  // namespace rf
