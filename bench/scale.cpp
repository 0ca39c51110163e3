// scale: absolute figures. Held connections, creating and listing 100,000 segments, and the
// daemon's own memory per segment.

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "child_process.hpp"
#include "daemon_memory.hpp"
#include "figures.hpp"
#include "gate_report.hpp"
#include "memfd.hpp"
#include "sampling.hpp"
#include "shm/shm.hpp"

namespace shm::bench {
namespace {

constexpr std::size_t kConnections = 1000;
constexpr std::size_t kSegments = 100'000;

double seconds_since(std::int64_t start) { return static_cast<double>(monotonic_ns() - start) / 1e9; }

void connections(const BenchConfig& config, Report& report) {
  Client probe_owner(config.socket);
  CreateOptions options;
  options.ephemeral = true;
  auto probe = probe_owner.create_value<int>("bench.conn", 0, options);
  const std::uint64_t rss_before = proc_status_bytes(config.daemon_pid, "VmRSS");

  std::vector<Client> clients;
  clients.reserve(kConnections);
  const std::int64_t start = monotonic_ns();
  for (std::size_t i = 0; i < kConnections; ++i) {
    std::error_code ec;
    Client c(config.socket, ec);
    if (ec) {
      std::cerr << "shmd_bench: connection " << i << " refused: " << last_error_message() << '\n';
      break;
    }
    clients.push_back(std::move(c));
  }
  const double open_s = seconds_since(start);
  // Every connection must still be served, not merely accepted.
  std::size_t served = 0;
  const std::int64_t served_start = monotonic_ns();
  for (auto& c : clients) {
    std::error_code ec;
    (void)c.info("bench.conn", ec);
    if (!ec) ++served;
  }
  const double served_s = seconds_since(served_start);
  const std::uint64_t rss_after = proc_status_bytes(config.daemon_pid, "VmRSS");
  char note[256];
  std::snprintf(
      note, sizeof note,
      "opened in %.3f s (Hello included); one Info on each afterwards took %.3f s; daemon VmRSS +%.1f KiB per "
      "connection",
      open_s, served_s,
      static_cast<double>(rss_after - rss_before) / 1024.0 / static_cast<double>(std::max<std::size_t>(served, 1)));
  report.absolute("connections_held", static_cast<double>(served), "connections", static_cast<double>(kConnections),
                  true, note);
}

// Runs `shmctl list --json` with its output in a memfd; returns seconds and the entries printed.
std::pair<double, std::size_t> shmctl_list(const BenchConfig& config) {
  UniqueFd out = make_memfd(0);
  const std::int64_t start = monotonic_ns();
  ChildProcess shmctl({config.shmctl, "--socket", config.socket, "list", "--json"}, {{out.get(), STDOUT_FILENO}});
  shmctl.wait();
  const double seconds = seconds_since(start);
  const std::size_t size = file_size(out.get());
  std::error_code ec;
  Mapping text = size > 0 ? Mapping::map(out.get(), size, AccessMode::read_only, ec) : Mapping{};
  if (ec) throw std::system_error(ec, "mmap shmctl output");
  const std::string_view s(reinterpret_cast<const char*>(text.data()), size);
  std::size_t entries = 0;
  for (auto pos = s.find("\"name\""); pos != std::string_view::npos; pos = s.find("\"name\"", pos + 1)) ++entries;
  return {seconds, entries};
}

// The daemon's part of a create that an attach does not have: the four calls that make a Value's
// memfd (make_value_memfd()), here, in ns. The close is not timed: the daemon keeps the fd.
std::int64_t memfd_calls_ns() {
  const std::int64_t start = monotonic_ns();
  const UniqueFd fd = make_value_memfd();
  return monotonic_ns() - start;
}

/// Medians, in microseconds, of what one create + drop costs and of its parts, taken in turns.
struct CreateParts {
  double create;  ///< create_value<int> of a new name, then drop the handle
  double attach;  ///< attach_value<int> of that segment, touch, drop
  double memfd;   ///< memfd_calls_ns() in this process
};

// Where a create's time goes, in `count` turns of create, attach and the memfd calls alone (so a
// noisy neighbour hits all three alike); the probe segments are removed again, untimed.
CreateParts create_parts(Client& client, std::size_t count) {
  std::vector<double> create, attach, memfd;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = "probe." + std::to_string(i);
    const std::int64_t t0 = monotonic_ns();
    (void)client.create_value<int>(name, 0);
    const std::int64_t t1 = monotonic_ns();
    {
      auto v = client.attach_value<int>(name);
      v.segment().bytes()[0] = std::byte{1};
    }
    const std::int64_t t2 = monotonic_ns();
    memfd.push_back(static_cast<double>(memfd_calls_ns()) / 1e3);
    create.push_back(static_cast<double>(t1 - t0) / 1e3);
    attach.push_back(static_cast<double>(t2 - t1) / 1e3);
    client.remove(name);
  }
  return {median(create), median(attach), median(memfd)};
}

}  // namespace

void scale(const BenchConfig& config, Report& report) {
  connections(config, report);
  std::cerr << "shmd_bench: connections done\n";

  // The daemon lowers max-segments to fit its fd limit (one memfd per segment); where the hard
  // limit is low (a container without CAP_SYS_RESOURCE) fewer than 100,000 fit, and the times
  // are scaled up from what did.
  const std::size_t wanted = config.scaled(kSegments, 10);
  Client client(config.socket);
  const CreateParts parts = create_parts(client, config.scaled(2000, 4));
  const std::uint64_t anon_before = proc_status_bytes(config.daemon_pid, "RssAnon");
  const std::uint64_t rss_before = proc_status_bytes(config.daemon_pid, "VmRSS");
  char name[32];
  std::size_t count = 0;
  std::vector<double> each_us;  // every create + drop, to tell a slow loop from a slow tail
  each_us.reserve(wanted);
  const std::int64_t start = monotonic_ns();
  for (std::int64_t before = start; count < wanted; ++count) {
    std::snprintf(name, sizeof name, "seg.%06zu", count);
    std::error_code ec;
    (void)client.create_value<int>(name, 0, {}, ec);  // the handle goes at once (a Detach); the segment stays
    if (ec == Errc::limit_exceeded) break;
    if (ec) throw Error(ec, last_error_message());
    const std::int64_t now = monotonic_ns();
    each_us.push_back(static_cast<double>(now - before) / 1e3);
    before = now;
  }
  const double create_s = seconds_since(start);
  const std::uint64_t anon_after = proc_status_bytes(config.daemon_pid, "RssAnon");
  const std::uint64_t rss_after = proc_status_bytes(config.daemon_pid, "VmRSS");
  if (count == 0) throw std::runtime_error("the daemon allowed no segments");
  const double extrapolate = static_cast<double>(kSegments) / static_cast<double>(count);
  std::string how;
  if (count < kSegments) {
    char buf[160];
    std::snprintf(buf, sizeof buf, " (%zu segments%s, time scaled x%.2f)", count,
                  count < wanted ? ", all the daemon's fd limit allows" : "", extrapolate);
    how = buf;
  }
  const auto q = quartiles(each_us);
  std::sort(each_us.begin(), each_us.end());
  const double p99 = each_us[each_us.size() * 99 / 100];
  char where[400];
  std::snprintf(
      where, sizeof where,
      "; %.1f us per create + drop (each: median %.1f, quartiles %.1f-%.1f, 99th percentile %.1f); before the "
      "loop, in turns (medians): create + drop %.1f us, attach + touch + drop of that segment %.1f us, a "
      "Value's memfd calls alone (memfd_create, fchmod, pwritev, seals) %.1f us",
      create_s * 1e6 / static_cast<double>(count), q[1], q[0], q[2], p99, parts.create, parts.attach, parts.memfd);
  report.absolute("create_100k_segments", create_s * extrapolate, "s", 10.0, false,
                  "one client, create_value<int> then drop the handle (Create + Detach per segment)" + how + where);
  std::cerr << "shmd_bench: create done\n";

  const auto [list_s, entries] = shmctl_list(config);
  if (entries < count) throw std::runtime_error("shmctl list printed " + std::to_string(entries) + " entries");
  report.absolute("shmctl_list_json_100k", list_s * extrapolate, "s", 1.0, false,
                  "`shmctl list --json` over " + std::to_string(entries) + " segments, output to a memfd" + how);

  const double per_segment = static_cast<double>(anon_after - anon_before) / static_cast<double>(count);
  char note[200];
  std::snprintf(
      note, sizeof note,
      "daemon RssAnon delta / segments created; VmRSS delta %.0f B/segment (segment pages are shmem, not counted)",
      static_cast<double>(rss_after - rss_before) / static_cast<double>(count));
  report.absolute("daemon_bytes_per_segment", per_segment, "B", 2048.0, false, note);

  // The groups after this one create segments of their own: give the daemon its room back (untimed).
  for (std::size_t i = 0; i < count; ++i) {
    std::snprintf(name, sizeof name, "seg.%06zu", i);
    client.remove(name);
  }
  std::cerr << "shmd_bench: scale done\n";
}

}  // namespace shm::bench
