// Workers of the wake figures: a ping-pong of changes between two processes, through shmd's
// wait() and stores, through a bare futex on a raw shared mapping, and through one byte on a Unix
// socket; and the notify-free twins of atomic_increment's and locked_increment's loops.

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <stdexcept>
#include <system_error>

#include "gate_report.hpp"
#include "memfd.hpp"
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

/// Waits (bare FUTEX_WAIT, shared) until the word holds `expected`.
void futex_await(const Mapping& map, int which, std::uint32_t expected) {
  auto w = word(map, which);
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

void read_byte(int fd) {
  char b = 0;
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
  std::error_code ec;
  Mapping map = Mapping::map(kResourceFd, file_size(kResourceFd), AccessMode::read_write, ec);
  if (ec) throw std::system_error(ec, "mmap");
  const int out = ping ? 0 : 1;
  const int in = ping ? 1 : 0;
  wait_for_start();
  for (std::uint32_t i = 1; i <= rounds; ++i) {
    if (ping) {
      futex_store_and_wake(map, out, i);
      futex_await(map, in, i);
    } else {
      futex_await(map, in, i);
      futex_store_and_wake(map, out, i);
    }
  }
  report_done();
}

void wake_socket(const WorkerArgs& args) {
  const bool ping = arg_string(args, 0) == "ping";
  const std::uint64_t rounds = arg_number(args, 1);
  wait_for_start();
  for (std::uint64_t i = 0; i < rounds; ++i) {
    if (ping) {
      write_byte(kResourceFd);
      read_byte(kResourceFd);
    } else {
      read_byte(kResourceFd);
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
