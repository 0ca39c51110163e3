// run_after_release(): the actions that wait for this thread's release of a segment mutex.

#include "shm/release_after_unlock.hpp"

#include <algorithm>
#include <new>
#include <utility>
#include <vector>

#include "release_hook.hpp"
#include "shm/robust_mutex_fast.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace shm::robust_fast {
namespace {

/// This thread's run_after_release() actions, each with the mutex it waits for.
struct Pending {
  pthread_mutex_t* mutex;                 ///< stays mapped until `action` has run
  std::unique_ptr<ReleaseAction> action;  ///< what to do once this thread no longer holds it
};
/// Allocated on first use and never freed: at thread exit the actions must not be destroyed
/// either, since destroying one would unmap a mutex the kernel is about to find on the robust
/// list (a fault there ends its walk, and every later entry stays locked for good).
thread_local constinit std::vector<Pending>* t_pending = nullptr;

}  // namespace

void run_released() noexcept {
  std::vector<Pending>& pending = *t_pending;
  for (;;) {
    const auto it =
        std::find_if(pending.begin(), pending.end(), [](const Pending& p) { return !held_by_this_thread(*p.mutex); });
    if (it == pending.end()) break;
    const std::unique_ptr<ReleaseAction> action = std::move(it->action);
    pending.erase(it);
    action->run();  // may unmap the mutex, which is no longer listed
  }
  set_release_pending(!pending.empty());
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
  set_release_pending(true);
}

}  // namespace shm::robust_fast
