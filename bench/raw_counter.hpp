#pragma once
/// The hand-written references' shared counters: what a user would lay out without shmd.

#include <pthread.h>

#include <atomic>

#include <boost/interprocess/sync/interprocess_mutex.hpp>

namespace shm::bench {

/// A robust, process-shared pthread mutex next to the int it guards, in one raw mapping.
struct RawLockedCounter {
  pthread_mutex_t mutex;  ///< robust, process-shared (not recursive: a hand-written lock needs none)
  int value;              ///< the counter
};

/// Boost.Interprocess's equivalent, constructed inside a managed_shared_memory segment.
struct BoostLockedCounter {
  boost::interprocess::interprocess_mutex mutex;  ///< Boost's process-shared mutex
  int value = 0;                                  ///< the counter
};

/// A std::atomic counter placed in a raw mapping.
struct RawAtomicCounter {
  std::atomic<int> value{0};  ///< the counter
};

/// Initialises `c` in place: robust, process-shared mutex, value 0. Throws std::system_error.
void init_raw_locked_counter(RawLockedCounter& c);

/// The name of the BoostLockedCounter object inside the Boost managed segment.
inline constexpr const char* kBoostCounterName = "counter";

}  // namespace shm::bench
