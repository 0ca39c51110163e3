// The shmd program itself: one daemon per socket, stale sockets, signals, socket mode, the
// command line, the busy-poll window and descriptor hygiene.

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "proc_task.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"

namespace {

using namespace std::chrono_literals;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;
using shm::test::eventually;
using shm::test::peer_command;
using shm::test::refcount;
using shm::test::run;

TEST(ShmdProcess, SecondDaemonOnTheSameSocketRefusesToStart) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("survivor", 3);

  const auto second = run({SHMD_BIN, "--socket", daemon.socket_path()}, {}, 30s);
  EXPECT_NE(second.exit_code, 0);
  std::string said = second.err + second.out;
  std::transform(said.begin(), said.end(), said.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_TRUE(said.find("already") != std::string::npos || said.find("in use") != std::string::npos ||
              said.find("running") != std::string::npos)
      << "it should say another daemon answers there:\n"
      << said;

  EXPECT_TRUE(daemon.running());
  shm::Client again(daemon.socket_path());
  EXPECT_EQ(again.attach_value<int>("survivor").load(), 3);
}

TEST(ShmdProcess, StaleSocketFileIsReplaced) {
  // A socket file that was bound and then abandoned: nobody answers on it.
  DaemonProcess daemon({}, [](const std::filesystem::path& dir) {
    const shm::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = (dir / "shmd.sock").string();
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  });
  ASSERT_TRUE(std::filesystem::is_socket(daemon.socket_path()));
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("after.stale", 1);
  EXPECT_EQ(client.list().size(), 1U);
}

TEST(ShmdProcess, SigtermShutsDownCleanlyAndRemovesTheSocket) {
  DaemonProcess daemon;
  {
    shm::Client client(daemon.socket_path());
    auto v = client.create_value<int>("x");
  }
  const int status = daemon.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

TEST(ShmdProcess, SigintShutsDownCleanlyEvenWithClientsConnected) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("held");
  ChildProcess holder(peer_command(daemon.socket_path(), {"attach-and-wait", "held"}));
  ASSERT_EQ(holder.read_line(), "attached");
  const int status = daemon.stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
  v.store(5);  // mappings outlive the daemon
  EXPECT_EQ(v.load(), 5);
}

TEST(ShmdProcess, SocketModeDefaultsTo0666AndCanBeSet) {
  DaemonProcess by_default;
  struct stat st {};
  ASSERT_EQ(::stat(by_default.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666U);
  DaemonProcess strict({"--socket-mode", "0600"});
  ASSERT_EQ(::stat(strict.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST(ShmdProcess, HelpAndVersionExitZero) {
  const auto help = run({SHMD_BIN, "--help"}, {}, 30s);
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--socket"), std::string::npos) << help.out;
  const auto version = run({SHMD_BIN, "--version"}, {}, 30s);
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("0.1"), std::string::npos) << version.out;
}

TEST(ShmdProcess, BusyPollWindowOutOfRangeIsAUsageErrorAndZeroTurnsItOff) {
  for (const char* bad : {"-1", "10001", "fast"}) {
    const auto r = run({SHMD_BIN, "--busy-poll-us", bad}, {}, 30s);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--busy-poll-us"), std::string::npos) << r.err;
  }
  DaemonProcess daemon({"--busy-poll-us", "0"});
  shm::Client client(daemon.socket_path());
  EXPECT_EQ(client.create_value<int>("polled", 7).load(), 7);
}

TEST(ShmdProcess, IdleDaemonSleepsOnceItsBusyPollWindowHasPassed) {
  DaemonProcess daemon({"--busy-poll-us", "10000"});  // the longest window there is
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("awake", 1);
  EXPECT_EQ(client.info("awake").refcount, 1U);
  // Busy polling keeps the daemon runnable ('R'); asleep in epoll_wait it is 'S'.
  const auto state = [&] { return shm::test::scheduler_state("/proc/" + std::to_string(daemon.pid()) + "/stat"); };
  EXPECT_TRUE(eventually([&] { return state() == 'S'; })) << "shmd is still state " << state();
}

/// How often the calling thread has gone to sleep (blocked) so far.
long sleeps_of_this_thread() { return shm::test::status_field("/proc/thread-self/status", "voluntary_ctxt_switches"); }

TEST(ShmdProcess, ClientPollsForItsRepliesInsteadOfSleeping) {
  DaemonProcess daemon({"--busy-poll-us", "10000"});  // an awake daemon answers in microseconds
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("prompt", 3);
  constexpr int kRequests = 200;
  const auto sleeps_over_requests = [&] {
    const long before = sleeps_of_this_thread();
    for (int i = 0; i < kRequests; ++i) EXPECT_EQ(client.info("prompt").refcount, 1U);
    return sleeps_of_this_thread() - before;
  };
  // Compared, not expected to be zero: on a loaded machine a reply can take longer than the
  // window, and the thread can block elsewhere (an allocator lock under a sanitizer). Both the
  // daemon and this thread spin, so on two busy CPUs one of them can be kept off its CPU for a
  // whole window: three attempts, as in event_loop_test; a client that never polls sleeps as
  // often as a plain one in all three.
  long plain = 0;
  long polling = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    client.set_busy_poll(0us);  // each wait for a reply sleeps in poll()
    plain = sleeps_over_requests();
    client.set_busy_poll(std::chrono::milliseconds(10));
    polling = sleeps_over_requests();
    if (polling * 3 < plain) break;
  }
  EXPECT_GE(plain, kRequests / 4);
  EXPECT_LT(polling * 3, plain) << "the client slept " << polling << " times in " << kRequests
                                << " requests with the window, " << plain << " without";
  EXPECT_EQ(v.load(), 3);
}

TEST(ShmdProcess, UnknownOptionIsAUsageError) {
  const auto r = run({SHMD_BIN, "--no-such-option"}, {}, 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

TEST(ShmdProcess, ManyShortConnectionsLeakNoDescriptors) {
  DaemonProcess daemon;
  shm::Client keeper(daemon.socket_path());
  auto v = keeper.create_value<int>("k");
  const std::size_t fds_before = daemon.open_fds();
  for (int i = 0; i < 50; ++i) {
    shm::Client c(daemon.socket_path());
    auto a = c.attach_value<int>("k");
    a.fetch_add(1);
  }
  EXPECT_EQ(v.load(), 50);
  EXPECT_TRUE(eventually([&] { return daemon.open_fds() <= fds_before; }))
      << daemon.open_fds() << " fds open, " << fds_before << " before";
  EXPECT_EQ(refcount(keeper, "k"), 1);
}

}  // namespace
