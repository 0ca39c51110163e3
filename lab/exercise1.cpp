// Exercise 1 of the lab sheet: five processes, each with its own target function, update one
// shared Value; the parent waits for all five and prints it. In Python:
//
//   v = multiprocessing.Value('l', 0)
//   ps = [Process(target=f, args=(v, n)) for f in (add_ones, add_tens, add_hundreds,
//                                                   add_thousands, add_ten_thousands)]
//   for p in ps: p.start()
//   for p in ps: p.join()
//   print(v.value)
//
// Each worker adds its own power of ten N times, so the total (11111 * N) is known whatever the
// scheduling, and its digits show each worker's share. Every update is a read-modify-write that
// only the segment's lock keeps whole.
#include <array>
#include <climits>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "shm/format.hpp"
#include "tasks.hpp"

namespace shm::lab {
namespace {

/// A worker's handle on the shared total. lock() is Python's `with v.get_lock():`, plus what
/// the exercise shows off: it reports a lock recovered from a dead holder, and with
/// --crash-worker it kills this worker while it holds the lock.
class SharedTotal {
 public:
  /// Wraps `value` for worker `who`, which dies on its `crash_at`-th lock (counting from 0) if set.
  SharedTotal(shm::Value<long> value, std::string who, std::optional<std::size_t> crash_at)
      : value_(std::move(value)), who_(std::move(who)), crash_at_(crash_at) {}

  /// Takes the segment's lock for one update.
  shm::LockGuard lock() {
    auto guard = lock_reporting(value_.segment(), who_);
    // A real kill, not an exit: the robust mutex is left held by a dead process, and nothing
    // of this update has been written, so the survivors' total stays exactly predictable.
    if (crash_at_ == locks_taken_) std::raise(SIGKILL);
    ++locks_taken_;
    return guard;
  }
  /// The shared total itself; only touch it while holding lock().
  long& value() noexcept { return value_.get(); }

 private:
  shm::Value<long> value_;               ///< the attached Value
  std::string who_;                      ///< "worker 3", for messages
  std::optional<std::size_t> crash_at_;  ///< the lock during which to die, if any
  std::size_t locks_taken_ = 0;          ///< locks taken so far
};

/// Worker 1's target: adds 1 at a time.
void add_ones(SharedTotal& v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto g = v.lock();
    v.value() += 1;
  }
}

/// Worker 2's target: adds 10 as a separate read and write, which lose updates without the lock.
void add_tens(SharedTotal& v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto g = v.lock();
    const long seen = v.value();
    v.value() = seen + 10;
  }
}

/// Worker 3's target: adds 100 in ten steps of 10; the lock keeps the steps from interleaving.
void add_hundreds(SharedTotal& v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto g = v.lock();
    for (int step = 0; step < 10; ++step) v.value() += 10;
  }
}

/// Worker 4's target: adds 1000 by overshooting by 500 and taking it back; no lock holder sees
/// the overshoot.
void add_thousands(SharedTotal& v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto g = v.lock();
    v.value() += 1500;
    v.value() -= 500;
  }
}

/// Worker 5's target: adds 10000 as two halves.
void add_ten_thousands(SharedTotal& v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto g = v.lock();
    const long half = 5000;
    v.value() = v.value() + half;
    v.value() = v.value() + half;
  }
}

/// A child's main for worker function `Work`. Arguments: ITERATIONS [CRASH_AT].
template <void (*Work)(SharedTotal&, std::size_t)>
int worker_main(const ChildArgs& args) {
  if (args.args.empty() || args.args.size() > 2) throw LabError("expected ITERATIONS [CRASH_AT]");
  const std::size_t iterations = parse_count(args.args[0]);
  std::optional<std::size_t> crash_at;
  if (args.args.size() == 2) crash_at = parse_count(args.args[1]);

  auto client = connect(args.segment.socket);
  SharedTotal total(attach_value<long>(client, args.segment), args.process, crash_at);
  Work(total, iterations);
  return 0;
}

/// One of the five workers: its target, and what its target adds per iteration.
struct Worker {
  Target target;  ///< what the child runs
  long amount;    ///< added per iteration
};

constexpr std::array kWorkers{
    Worker{{"exercise1.add_ones", &worker_main<add_ones>}, 1},
    Worker{{"exercise1.add_tens", &worker_main<add_tens>}, 10},
    Worker{{"exercise1.add_hundreds", &worker_main<add_hundreds>}, 100},
    Worker{{"exercise1.add_thousands", &worker_main<add_thousands>}, 1000},
    Worker{{"exercise1.add_ten_thousands", &worker_main<add_ten_thousands>}, 10000},
};

constexpr std::array kTargets{kWorkers[0].target, kWorkers[1].target, kWorkers[2].target, kWorkers[3].target,
                              kWorkers[4].target};

/// Sum of every worker's amount: what one iteration of all five adds.
constexpr long kAmountPerRound = 11111;

}  // namespace

std::span<const Target> exercise1_targets() { return kTargets; }

std::size_t exercise1_max_iterations() { return static_cast<std::size_t>(LONG_MAX / kAmountPerRound); }

int exercise1(const Exercise1Options& options) {
  const std::size_t n = options.iterations;
  if (n == 0 || n > exercise1_max_iterations())
    throw LabError("--iterations must be 1.." + std::to_string(exercise1_max_iterations()), kExitUsage);
  // The crashing worker dies halfway, having made exactly this many updates.
  const std::size_t crash_at = n / 2;

  auto client = connect(options.task.socket);
  auto v = make_value<long>(client, options.task, "exercise1", 0L);
  const SegmentRef ref{options.task.socket, std::string(v.segment().name())};

  std::vector<Process> processes;
  processes.reserve(kWorkers.size());
  long expected = 0;
  for (std::size_t k = 0; k < kWorkers.size(); ++k) {
    const bool crashes = options.crash_worker == static_cast<int>(k + 1);
    std::vector<std::string> args{std::to_string(n)};
    if (crashes) args.push_back(std::to_string(crash_at));
    expected += kWorkers[k].amount * static_cast<long>(crashes ? crash_at : n);
    processes.emplace_back("worker " + std::to_string(k + 1), kWorkers[k].target, ref, std::move(args));
  }

  for (auto& p : processes) p.start();
  for (auto& p : processes) p.join();

  // How each worker ended comes first, so a reader knows it when the value appears.
  bool workers_ok = true;
  for (std::size_t k = 0; k < processes.size(); ++k) {
    const auto& p = processes[k];
    if (options.crash_worker != static_cast<int>(k + 1)) {
      workers_ok = report_failures({&p, 1}) && workers_ok;
    } else if (p.exitcode() == -SIGKILL) {
      std::cerr << "shm-lab: " << p.name() << ' ' << p.describe_exit() << " while holding the lock, as --crash-worker "
                << (k + 1) << " asked, after " << crash_at << " of " << n << " updates\n";
    } else {
      std::cerr << "shm-lab: " << p.name() << " should have been killed by --crash-worker but " << p.describe_exit()
                << '\n';
      workers_ok = false;
    }
  }

  long value = 0;
  {
    // The parent locks too: if the crashed worker was the last to hold the lock, this is where
    // its death is noticed.
    auto g = lock_reporting(v.segment(), "parent");
    value = v.get();
  }
  // Flushed so that the verdict below follows the value even when both streams go to one pipe.
  std::cout << shm::to_python(value) << '\n' << std::flush;

  if (value != expected)
    std::cerr << "shm-lab: exercise1: the value " << value << " differs from the expected " << expected << '\n';
  if (!workers_ok) std::cerr << "shm-lab: exercise1: a worker did not finish its updates (see above)\n";
  return value == expected && workers_ok ? 0 : kExitFailure;
}

}  // namespace shm::lab
