#pragma once
/// The jobs shmd_bench_worker can do, one per measured loop. Each parses its own arguments,
/// sets up, calls wait_for_start(), runs its loop, and calls report_done(). They throw on failure.

#include <cstdint>
#include <string>
#include <vector>

namespace shm::bench {

/// The arguments after the mode word.
using WorkerArgs = std::vector<std::string>;

/// SOCKET NAME ITERS: ITERS increments of a shmd Value<int> under its lock.
void locked_shmd(const WorkerArgs& args);
/// ITERS: increments under a hand-written robust mutex in the raw mapping on fd 5.
void locked_robust(const WorkerArgs& args);
/// SHM_NAME ITERS: increments under a Boost interprocess_mutex in a managed_shared_memory.
void locked_boost(const WorkerArgs& args);

/// SOCKET NAME ITERS: ITERS fetch_add(1) on a shmd Value<int>.
void atomic_shmd(const WorkerArgs& args);
/// ITERS: fetch_add(1) on a std::atomic<int> in the raw mapping on fd 5.
void atomic_raw(const WorkerArgs& args);

/// SOCKET NAME LO HI: squares elements [LO, HI) of a shmd Array<int> in place.
void square_shmd(const WorkerArgs& args);
/// LO HI: squares ints [LO, HI) of the raw mapping on fd 5 in place.
void square_raw(const WorkerArgs& args);

/// SOCKET PREFIX CYCLES POLL_US: CYCLES of create (no attach), info, remove, the client polling
/// POLL_US for each reply (Client::set_busy_poll; 0: off).
void control_shmd(const WorkerArgs& args);
/// SOCKET ROUNDS POLL_US: ROUNDS small request/response round trips with pingpong_server,
/// polling POLL_US for each reply as libshmclient does (0: asleep in read()).
void pingpong_client(const WorkerArgs& args);
/// CLIENTS POLL_US MEMFD: echoes every message on the listening socket on fd 5 until CLIENTS
/// clients left, polling POLL_US after each burst as shmd's event loop does (0: asleep in
/// epoll_wait). MEMFD 1: makes a Value's memfd at every client's 1st, 4th, ... request and closes
/// it at the 3rd, 6th, ..., as a broker's create and remove do.
void pingpong_server(const WorkerArgs& args);

/// POLL_US DETACH: answers each request on the socket on fd 5 with a reply carrying the memfd on
/// fd 6, polling POLL_US after each request as shmd's event loop does (0: asleep in read()).
/// DETACH 1: each reply's request is followed by a one-way detach message, read, not answered.
void fd_floor_server(const WorkerArgs& args);

/// SOCKET ping|pong PING PONG ROUNDS: the shmd side of a wake ping-pong on two Value<int>s: ping
/// stores i in PING and waits for PONG to hold i; pong waits for PING, then stores in PONG.
void wake_shmd(const WorkerArgs& args);
/// ping|pong ROUNDS: the same with two words of the raw mapping on fd 5 (0 and 64), a bare
/// shared FUTEX_WAKE after each store and FUTEX_WAIT until the word holds i.
void wake_futex(const WorkerArgs& args);
/// ping|pong ROUNDS: the same with one byte each way on the Unix socket on fd 5, blocked in read().
void wake_socket(const WorkerArgs& args);
/// SOCKET NAME ITERS: atomic_shmd's loop on the same element through a bare atomic_ref: no notify.
void atomic_shmd_quiet(const WorkerArgs& args);
/// SOCKET NAME ITERS: locked_shmd's loop with robust_fast::lock/unlock on the segment's mutex: no notify.
void locked_shmd_quiet(const WorkerArgs& args);
/// What one control_shmd cycle sends: Create (without attaching), Info, Remove; pingpong_server's
/// memfd mode makes its memfd at the first request of each such cycle and closes it at the last.
inline constexpr std::uint64_t kControlRequestsPerCycle = 3;
/// Message sizes of the bare-socket references: about what a shmd control request and reply take.
inline constexpr std::size_t kPingBytes = 32;
/// Reply size of the bare-socket references.
inline constexpr std::size_t kPongBytes = 64;

}  // namespace shm::bench
