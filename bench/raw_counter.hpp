#pragma once
/// The hand-written references' shared counters: what a user would lay out without shmd.

#include <pthread.h>

#include <atomic>
#include <cstddef>

#include <boost/interprocess/sync/interprocess_mutex.hpp>

#include "shm/segment_layout.hpp"

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

/// A std::atomic counter placed in a raw mapping, at kRawAtomicOffset.
struct RawAtomicCounter {
  std::atomic<int> value{0};  ///< the counter
};

/// Where the raw counter sits in its page: where a Value's element sits in a segment
/// (kValueDataOffset, the page's second cache line). Both sides bounce the same line of the page
/// between the CPUs, and its neighbour (the prefetcher fetches lines in pairs) is the same too.
inline constexpr std::size_t kRawAtomicOffset = kValueDataOffset;

/// Initialises `c` in place: robust, process-shared mutex, value 0. Throws std::system_error.
void init_raw_locked_counter(RawLockedCounter& c);

/// The name of the BoostLockedCounter object inside the Boost managed segment.
inline constexpr const char* kBoostCounterName = "counter";

}  // namespace shm::bench
