#pragma once
/// LockState: what a Python Value or Array knows about its segment's lock in this process.

#include <thread>
#include <vector>

#include "shm/lock_guard.hpp"

namespace shmd_py {

/// The guards this process holds through one Value or Array, one per acquire() (the mutex is
/// recursive), and the thread that holds them. Shared by every Lock object of that Value.
/// Only touched with the GIL held.
struct LockState {
  std::vector<shm::LockGuard> guards;  ///< innermost acquire last
  std::thread::id owner;               ///< the thread that holds the guards, if any
  bool owner_died = false;             ///< the latest acquire recovered the lock from a dead holder
};

}  // namespace shmd_py
