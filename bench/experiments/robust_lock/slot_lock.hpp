#pragma once
// Route (iii) prototype: "liveness slot" robust lock.
//
// Every thread that locks owns one Slot in a shared Registry. The slot's futex word holds the
// thread's TID and the slot's list node is linked ONCE (at registration) into glibc's per-thread
// robust list (layout-compatible with pthread_mutex_t, like route (i)). When the thread dies the
// kernel marks the slot word FUTEX_OWNER_DIED. The lock word itself is a plain futex holding the
// owner's (slot, generation) -- nothing robust-specific happens per lock/unlock, so the critical
// section is as short as a plain mutex's. Contenders check the owner's slot for liveness and wait
// with futex_waitv on both the lock word and the owner's slot word.
//
// Prototype limits: the Registry must stay mapped for the life of every registered thread (its
// node is in the thread's robust list); 255 slots; 15-bit generations; no unregistration.

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "robust_fast.hpp"

namespace sl {

constexpr int kSlots = 255;
constexpr unsigned kWaiters = FUTEX_WAITERS;  // bit 31, both in lock words and slot words
constexpr int kClaimTid = FUTEX_TID_MASK;        // no real TID (pid_max <= 2^22)
constexpr int kClaiming = FUTEX_OWNER_DIED | kClaimTid;

struct alignas(64) Slot {
  int word = 0;       // 0 = never used; TID (| WAITERS) = live; OWNER_DIED set = dead (kernel)
  unsigned gen = 0;   // bumped on every (re)claim; a lock naming an older gen has a dead owner
  int reserved[4] = {};
  __pthread_list_t node{};  // at word + 24 (node.__next at word + 32): kernel futex_offset -32
};
static_assert(offsetof(Slot, node) - offsetof(Slot, word) == 24);

struct Registry {
  Slot slots[kSlots];
};

struct alignas(64) SlotLock {
  unsigned word = 0;  // 0 = free; else (gen << 16 | slot + 1) | WAITERS
  unsigned depth = 0; // extra recursion levels (written only on re-lock)
};

struct Me {
  Registry* reg = nullptr;  // registry this thread registered in
  unsigned value = 0;       // our lock-word value (gen << 16 | idx + 1)
};
inline thread_local constinit Me t_me{};

inline void atfork_child() noexcept { t_me = Me{}; }

// Claim a free or dead slot, then link its node into glibc's robust list (once per thread).
[[gnu::noinline, gnu::cold]] inline unsigned register_thread(Registry* reg) noexcept {
  static const bool once = [] { ::pthread_atfork(nullptr, nullptr, &atfork_child); return true; }();
  (void)once;
  rf::ThreadCtx& c = rf::ctx();
  if (c.head == nullptr) return 0;
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = reg->slots[i];
    int w = __atomic_load_n(&s.word, __ATOMIC_ACQUIRE);
    // Free: never used (0) or dead (kernel wrote OWNER_DIED [| WAITERS], TID cleared).
    // Not free: live (a TID), or being claimed (kClaiming, which also reads as "dead" for liveness
    // checks, so the slot keeps looking dead until gen has been bumped).
    if (w != 0 && (!(w & FUTEX_OWNER_DIED) || (w & FUTEX_TID_MASK) == kClaimTid)) continue;
    if (!__atomic_compare_exchange_n(&s.word, &w, kClaiming, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) continue;
#ifdef SL_WIDEN  // test hook: widen the claim window
    ::sched_yield();
#endif
    const unsigned gen = (__atomic_load_n(&s.gen, __ATOMIC_RELAXED) + 1) & 0x7fff;
    __atomic_store_n(&s.gen, gen, __ATOMIC_RELEASE);
    // Link the node (op_pending protocol as glibc), then publish our TID.
    rf::RobustHead* h = c.head;
    h->list_op_pending = &s.node.__next;
    rf::cbar();
    __atomic_store_n(&s.word, c.tid, __ATOMIC_RELEASE);
    rf::cbar();
    rf::enqueue(h, &s.node);
    rf::cbar();
    h->list_op_pending = nullptr;
    t_me.reg = reg;
    t_me.value = (gen << 16) | unsigned(i + 1);
    return t_me.value;
  }
  return 0;
}

[[gnu::always_inline]] inline unsigned me(Registry* reg) noexcept {
  if (__builtin_expect(t_me.reg == reg, 1)) return t_me.value;
  return register_thread(reg);  // (prototype: one registry per thread)
}

// Owner named by lock value v is alive?
inline bool alive(Registry* reg, unsigned v, int* slot_word_seen) noexcept {
  const unsigned owner = v & ~kWaiters;
  const Slot& s = reg->slots[(owner & 0xffff) - 1];
  const int w = __atomic_load_n(&s.word, __ATOMIC_ACQUIRE);
  *slot_word_seen = w;
  return !(w & FUTEX_OWNER_DIED) && __atomic_load_n(&s.gen, __ATOMIC_ACQUIRE) == (owner >> 16);
}

[[gnu::noinline]] inline int lock_slow(Registry* reg, SlotLock* l, unsigned my, unsigned v) noexcept {
  unsigned assume = 0;
  for (;;) {
    if (v == 0) {
      if (__atomic_compare_exchange_n(&l->word, &v, my | assume, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
      continue;
    }
    if ((v & ~kWaiters) == my) {  // recursion
      ++l->depth;
      return 0;
    }
    int sw;
    if (!alive(reg, v, &sw)) {  // owner died (or its slot was reclaimed): take over
      // The kernel woke only one slot waiter; the dead owner may have held other locks too.
      if (sw & int(kWaiters)) {
        Slot& ds = reg->slots[((v & ~kWaiters) & 0xffff) - 1];
        ::syscall(SYS_futex, &ds.word, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
      }
      if (__atomic_compare_exchange_n(&l->word, &v, my | (v & kWaiters) | assume, false, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
        l->depth = 0;
        return EOWNERDEAD;
      }
      continue;
    }
    if (!(v & kWaiters)) {
      if (!__atomic_compare_exchange_n(&l->word, &v, v | kWaiters, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        continue;
      v |= kWaiters;
    }
    assume = kWaiters;
    // Ask the kernel to wake us if the owner dies: WAITERS in its slot word.
    Slot& s = reg->slots[((v & ~kWaiters) & 0xffff) - 1];
    if (!(sw & int(kWaiters))) {
      if (!__atomic_compare_exchange_n(&s.word, &sw, sw | int(kWaiters), false, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED)) {
        v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
        continue;  // slot changed (died / reclaimed): re-evaluate
      }
      sw |= int(kWaiters);
    }
    futex_waitv w[2] = {};
    w[0].val = v;
    w[0].uaddr = reinterpret_cast<std::uintptr_t>(&l->word);
    w[0].flags = FUTEX_32;  // shared
    w[1].val = unsigned(sw);
    w[1].uaddr = reinterpret_cast<std::uintptr_t>(&s.word);
    w[1].flags = FUTEX_32;
    ::syscall(SYS_futex_waitv, w, 2, 0, nullptr, 0);
    v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
  }
}

[[gnu::always_inline]] inline int lock(Registry* reg, SlotLock* l) noexcept {
  const unsigned my = me(reg);
  if (__builtin_expect(my == 0, 0)) return EAGAIN;  // no slot / no robust list
  unsigned v = 0;
  if (__builtin_expect(__atomic_compare_exchange_n(&l->word, &v, my, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 1))
    return 0;
  return lock_slow(reg, l, my, v);
}

[[gnu::always_inline]] inline int unlock(Registry* reg, SlotLock* l) noexcept {
  const unsigned my = t_me.value;
  (void)reg;
  if (__builtin_expect((__atomic_load_n(&l->word, __ATOMIC_RELAXED) & ~kWaiters) != my || my == 0, 0)) return EPERM;
  if (__builtin_expect(l->depth != 0, 0)) {
    --l->depth;
    return 0;
  }
  if (__builtin_expect((__atomic_exchange_n(&l->word, 0u, __ATOMIC_RELEASE) & kWaiters) != 0, 0))
    ::syscall(SYS_futex, &l->word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  return 0;
}

}  // namespace sl
