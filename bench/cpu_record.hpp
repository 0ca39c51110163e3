#pragma once
/// CpuRecord: the CPU time one side of a figure spent per operation, turn by turn.

#include <string>

#include "report.hpp"
#include "sampling.hpp"

namespace shm::bench {

/// CPU time per operation of a client/server pair (shmd and its clients, or a reference's server
/// and clients), one entry per sample, kept by turn as interleaved_twins() runs them.
class CpuRecord {
 public:
  /// Records one sample of turn `turn` (0 or 1; kWarmUp is not recorded): the clients' and the
  /// server's CPU time per operation.
  void add(int turn, double clients_ns, double server_ns);
  /// Clients + server per operation, by turn: the samples of a CPU figure.
  [[nodiscard]] const Twin& total() const noexcept { return total_; }
  /// Adds the absolute figure `name`: the median total per operation, with the clients' and the
  /// server's medians and `wall` (the side's wall-clock samples) in the note.
  void report_absolute(Report& report, const std::string& name, const Twin& wall, const std::string& server,
                       const std::string& how) const;

 private:
  Twin total_;    ///< clients + server
  Twin clients_;  ///< the clients alone
  Twin server_;   ///< the server (daemon) alone
};

}  // namespace shm::bench
