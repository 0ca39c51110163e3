// Workers of the wake figures: a ping-pong of changes between two processes, through shmd's
// wait() and stores, through a bare futex on a raw shared mapping, and through one byte on a Unix
// socket (the two references polling as long as wait() does, or not at all); and the notify-free
// twins of atomic_increment's and locked_increment's loops.

#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <system_error>

#include "gate_report.hpp"
#include "memfd.hpp"
#include "shm/busy_poll.hpp"
#include "shm/mapping.hpp"
#include "shm/robust_mutex_fast.hpp"
#include "shm/shm.hpp"
#include "worker_args.hpp"
#include "worker_gate.hpp"

namespace shm::bench {
namespace {

/// The header of a Value attached in this process, for the loops that bypass its notify.
SegmentHeader& header_of(Segment& segment) {
  return *reinterpret_cast<SegmentHeader*>(segment.bytes().data() - segment.info().data_offset);
}

/// The shmd side of a ping-pong: wait on `in` until it holds `expected`, taking counts watched.
void await_value(Value<int>& in, std::uint32_t& seen, int expected) {
  while (in.load() != expected) {
    const WaitResult r = in.wait(seen);
    if (r.status == WaitStatus::removed) throw std::runtime_error("the ping-pong segment was removed");
    seen = r.changes;
  }
}

/// The bare futex floor: the two words in the raw mapping, 64 bytes apart.
std::atomic_ref<std::uint32_t> word(const Mapping& map, int which) {
  return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(map.data() + 64 * which));
}

/// Waits until the word holds `expected`: polls it for `window` as wait() polls its word
/// (shm::spin_until_ready), then bare FUTEX_WAITs (shared).
void futex_await(const Mapping& map, int which, std::uint32_t expected, std::chrono::microseconds window) {
  auto w = word(map, which);
  if (spin_until_ready(window, [&] { return w.load(std::memory_order_relaxed) == expected; })) return;
  for (std::uint32_t now = w.load(); now != expected; now = w.load())
    (void)::syscall(SYS_futex, map.data() + 64 * which, FUTEX_WAIT, now, nullptr, nullptr, 0);
}

void futex_store_and_wake(const Mapping& map, int which, std::uint32_t v) {
  word(map, which).store(v);
  (void)::syscall(SYS_futex, map.data() + 64 * which, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void write_byte(int fd) {
  const char b = 1;
  while (::write(fd, &b, 1) != 1)
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "write");
}

/// Reads one byte: for `window` with non-blocking reads (each one system call: the fastest a
/// socket can be polled), then blocked in read().
void read_byte(int fd, std::chrono::microseconds window) {
  char b = 0;
  bool eof = false;
  const bool got = spin_until_ready(window, [&] {
    const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
    if (n == 1) return true;
    if (n == 0)
      eof = true;
    else if (errno != EAGAIN && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "recv");
    return eof;
  });
  if (eof) throw std::runtime_error("the other end closed");
  if (got) return;
  for (;;) {
    const ssize_t n = ::read(fd, &b, 1);
    if (n == 1) return;
    if (n == 0) throw std::runtime_error("the other end closed");
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "read");
  }
}

}  // namespace

void wake_shmd(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  const bool ping = arg_string(args, 1) == "ping";
  auto in = client.attach_value<int>(arg_string(args, ping ? 3 : 2));
  auto out = client.attach_value<int>(arg_string(args, ping ? 2 : 3));
  const auto rounds = static_cast<int>(arg_number(args, 4));
  std::uint32_t seen = in.changes();
  wait_for_start();
  for (int i = 1; i <= rounds; ++i) {
    if (ping) {
      out.store(i);
      await_value(in, seen, i);
    } else {
      await_value(in, seen, i);
      out.store(i);
    }
  }
  report_done();
}

void wake_futex(const WorkerArgs& args) {
  const bool ping = arg_string(args, 0) == "ping";
  const auto rounds = static_cast<std::uint32_t>(arg_number(args, 1));
  const auto window = usable_busy_poll(std::chrono::microseconds(arg_number(args, 2)));
  std::error_code ec;
  Mapping map = Mapping::map(kResourceFd, file_size(kResourceFd), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  const int out = ping ? 0 : 1;
  const int in = ping ? 1 : 0;
  wait_for_start();
  for (std::uint32_t i = 1; i <= rounds; ++i) {
    if (ping) {
      futex_store_and_wake(map, out, i);
      futex_await(map, in, i, window);
    } else {
      futex_await(map, in, i, window);
      futex_store_and_wake(map, out, i);
    }
  }
  report_done();
}

void wake_socket(const WorkerArgs& args) {
  const bool ping = arg_string(args, 0) == "ping";
  const std::uint64_t rounds = arg_number(args, 1);
  const auto window = usable_busy_poll(std::chrono::microseconds(arg_number(args, 2)));
  wait_for_start();
  for (std::uint64_t i = 0; i < rounds; ++i) {
    if (ping) {
      write_byte(kResourceFd);
      read_byte(kResourceFd, window);
    } else {
      read_byte(kResourceFd, window);
      write_byte(kResourceFd);
    }
  }
  report_done();
}

void atomic_shmd_quiet(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  auto value = client.attach_value<int>(arg_string(args, 1));
  const std::uint64_t iters = arg_number(args, 2);
  std::atomic_ref<int> element(value.get());  // the same memory fetch_add works on, without its notify
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) element.fetch_add(1);
  report_done();
}

void locked_shmd_quiet(const WorkerArgs& args) {
  Client client(arg_string(args, 0));
  auto value = client.attach_value<int>(arg_string(args, 1));
  const std::uint64_t iters = arg_number(args, 2);
  pthread_mutex_t& mutex = header_of(value.segment()).mutex;  // the guard's lock and unlock, without its notify
  wait_for_start();
  for (std::uint64_t i = 0; i < iters; ++i) {
    if (const int rc = robust_fast::lock(mutex); rc != 0) {
      if (rc != EOWNERDEAD) throw std::system_error(rc, std::generic_category(), "lock");
      ::pthread_mutex_consistent(&mutex);
    }
    ++value.get();
    robust_fast::unlock(mutex);
  }
  report_done();
}

}  // namespace shm::bench
