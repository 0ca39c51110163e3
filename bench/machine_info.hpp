#pragma once
/// Describes the machine a run measured.

#include "report.hpp"

namespace shm::bench {

/// Adds nproc, the CPU model, the kernel and total memory to `report`.
void describe_machine(Report& report);

}  // namespace shm::bench
