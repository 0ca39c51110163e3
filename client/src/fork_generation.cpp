#include "fork_generation.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace shm::detail {
namespace {

std::atomic<unsigned> g_generation{0};

void on_fork_child() noexcept { g_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

unsigned fork_generation() noexcept {
  // Registered on first use: a process that forked before it ever asked has no older objects.
  static const bool hooked = ::pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
  if (!hooked) [[unlikely]]
    return static_cast<unsigned>(::getpid());  // decided once per process, so values stay comparable
  return g_generation.load(std::memory_order_relaxed);
}

}  // namespace shm::detail
