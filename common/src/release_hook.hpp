#pragma once
// Between unlock() (robust_mutex_fast.cpp) and run_after_release()'s actions
// (release_after_unlock.cpp). Private to common/src. The flag unlock() tests lives with unlock(),
// so its fast path reads a variable of its own file, as it did before the two were apart.

namespace shm::robust_fast {

/// After an unlock: runs the actions whose mutex this thread no longer holds. Allocates nothing.
[[gnu::cold]] void run_released() noexcept;

/// Tells unlock() whether this thread has actions waiting (it then calls run_released()).
void set_release_pending(bool pending) noexcept;

}  // namespace shm::robust_fast
