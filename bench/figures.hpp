#pragma once
/// The benchmark figures, one file each. Each measures shmd and its references in the same
/// run and adds its results to the Report.

#include "bench_config.hpp"
#include "report.hpp"

namespace shm::bench {

/// Five processes add to one Value under its lock: robust mutex, Boost, Python mp.Value.
void locked_increment(const BenchConfig& config, Report& report);
/// Five processes fetch_add on one Value against std::atomic in a raw mapping.
void atomic_increment(const BenchConfig& config, Report& report);
/// Attach by name, touch, detach, against the fd-passing floor (asleep and polling) and Python's
/// SharedMemory; the CPU per cycle of shmd (with and without busy polling) and of the floors.
void attach_detach(const BenchConfig& config, Report& report);
/// Eight clients issuing create/info/remove against an eight-client bare-socket ping-pong (asleep
/// and polling); the CPU per request of shmd (with and without busy polling) and of the ping-pongs.
void control_ops(const BenchConfig& config, Report& report);
/// The CPU time the daemon uses in 10 s with 100 connected, idle clients.
void idle_daemon(const BenchConfig& config, Report& report);
/// Lab exercise 2 scaled up: two processes square an Array in place, against raw memory and Python.
void bulk_square(const BenchConfig& config, Report& report);
/// The Python client against multiprocessing's Value, Array, SharedMemory and private numpy.
void python_figures(const BenchConfig& config, Report& report);
/// A change in one process waking a waiter in another (a ping-pong), against a bare futex and a
/// byte on a Unix socket; and what notify adds to atomic_increment and locked_increment.
void wake(const BenchConfig& config, Report& report);
/// Absolute scale: held connections, 100,000 segments, listing them, daemon memory per segment.
void scale(const BenchConfig& config, Report& report);

}  // namespace shm::bench
