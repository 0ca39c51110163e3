#include "cpu_record.hpp"

#include <cstdio>

namespace shm::bench {
namespace {

double median_of_both(const Twin& t) {
  Samples all(t.first);
  all.insert(all.end(), t.again.begin(), t.again.end());
  return median(all);
}

}  // namespace

void CpuRecord::add(int turn, double clients_ns, double server_ns) {
  if (turn == kWarmUp) return;
  auto push = [turn](Twin& t, double v) { (turn == 0 ? t.first : t.again).push_back(v); };
  push(total_, clients_ns + server_ns);
  push(clients_, clients_ns);
  push(server_, server_ns);
}

void CpuRecord::report_absolute(Report& report, const std::string& name, const Twin& wall, const std::string& server,
                                const std::string& how) const {
  char note[320];
  std::snprintf(note, sizeof note, "%s %.0f ns + clients %.0f ns of CPU per operation (medians), wall %.0f ns/op; %s",
                server.c_str(), median_of_both(server_), median_of_both(clients_), median_of_both(wall), how.c_str());
  report.absolute(name, median_of_both(total_), "ns CPU/op", std::nullopt, false, note);
}

}  // namespace shm::bench
