#pragma once
/// ms_until(): a deadline turned into a poll() timeout, for the test-support waits.

#include <algorithm>
#include <chrono>

namespace shm::test {

/// Milliseconds left until `deadline`, clamped to 0..60,000 for poll() (callers re-check the
/// deadline after each wake-up, so the cap only shortens one wait).
inline int ms_until(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

}  // namespace shm::test
