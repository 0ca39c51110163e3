#pragma once
/// Worker side of WorkerGroup: report ready, wait for the start, report the finish.

namespace shm::bench {

/// Tells the group this worker is set up, then blocks until the group releases everyone.
void wait_for_start();
/// Tells the group this worker's measured loop has finished (with the time, taken now, and the
/// CPU time this process used since wait_for_start() returned).
void report_done();
/// Tells the group this worker cannot run (so the driver fails instead of hanging).
void report_failed() noexcept;

}  // namespace shm::bench
