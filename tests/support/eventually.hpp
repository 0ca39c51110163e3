#pragma once
/// eventually(): awaiting a state the daemon reaches on its own schedule.

#include <chrono>
#include <thread>

namespace shm::test {

/// Re-checks `condition` until it holds or `timeout` passes; returns whether it held. For states
/// the daemon reaches asynchronously (noticing a dead peer's closed connection, releasing an
/// fd), which no message announces. Not for readiness: that is awaited on a pipe or socket.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace shm::test
