// `shmctl events` end to end: the real binary subscribed to a real shmd, its lines (text and
// JSON) for what other clients do, --count, the access filter for another user, and its exit
// statuses.

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "shm/shm.hpp"

namespace {

using namespace std::chrono_literals;
using shm::test::ChildProcess;
using shm::test::DaemonProcess;

/// Why the cross-user test cannot run here, or "" if it can.
std::string why_not_cross_user() {
  if (::geteuid() != 0) return "the cross-user test switches user with setpriv and must run as root";
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"})
    if (std::filesystem::exists(std::filesystem::path(dir) / "setpriv")) return {};
  return "setpriv (util-linux) is not installed";
}

class ShmctlEventsTest : public ::testing::Test {
 protected:
  /// `shmctl --socket <daemon> events args...` in the background.
  std::unique_ptr<ChildProcess> start(std::vector<std::string> args, std::vector<std::string> runner = {}) {
    std::vector<std::string> argv = std::move(runner);
    argv.insert(argv.end(), {shmctl_bin_, "--socket", daemon_.socket_path(), "events"});
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<ChildProcess>(argv);
  }
  /// Waits until `child` is subscribed: shmctl says so only by printing an event, so a thread
  /// creates and removes `sync` (which the child must be shown) until its first line comes.
  /// Returns that line.
  std::string await_subscribed(ChildProcess& child, const std::string& sync, std::uint32_t mode = 0600) {
    std::atomic<bool> done{false};
    std::thread poker([&] {
      shm::Client c(daemon_.socket_path());
      shm::SegmentSpec spec;
      spec.options.mode = mode;
      while (!done) {
        std::error_code ec;
        c.create_detached(sync, spec, ec);
        c.remove(sync, ec);
        std::this_thread::sleep_for(20ms);  // pacing of the pokes, not a wait for readiness
      }
    });
    const std::string first = child.read_line(30s);
    done = true;
    poker.join();
    return first;
  }
  /// The next line of `child` that is not about `skip`.
  static std::string next_line_without(ChildProcess& child, const std::string& skip) {
    for (;;) {
      std::string line = child.read_line(30s);
      if (line.empty() || line.find(skip) == std::string::npos) return line;
    }
  }
  /// Runs shmctl against the daemon and expects success.
  void shmctl(std::vector<std::string> args) {
    args.insert(args.begin(), {shmctl_bin_, "--socket", daemon_.socket_path()});
    const auto r = shm::test::run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }

  DaemonProcess daemon_;
  std::string shmctl_bin_ = SHMCTL_BIN;
};

TEST_F(ShmctlEventsTest, PrintsOneLinePerEventOfOtherClients) {
  auto child = start({"--prefix", "t."});
  EXPECT_NE(await_subscribed(*child, "t.sync").find("t.sync"), std::string::npos);
  shmctl({"create", "t.a", "--type", "i", "--mode", "0640"});
  shmctl({"chmod", "t.a", "0600"});
  shmctl({"rm", "t.a"});
  shmctl({"create", "u.other", "--type", "i"});
  const std::string created = next_line_without(*child, "t.sync");
  EXPECT_EQ(created.rfind("created t.a id=", 0), 0U) << created;
  EXPECT_NE(created.find(" type=i refcount=1 mode=0640 owner="), std::string::npos) << created;
  EXPECT_EQ(next_line_without(*child, "t.sync").rfind("mode_changed t.a id=", 0), 0U);
  const std::string removed = next_line_without(*child, "t.sync");
  EXPECT_EQ(removed.rfind("removed t.a id=", 0), 0U) << removed;
  const std::string freed = next_line_without(*child, "t.sync");
  EXPECT_EQ(freed.rfind("freed t.a id=", 0), 0U) << freed;
  EXPECT_NE(freed.find(" refcount=0 "), std::string::npos) << freed;
}

TEST_F(ShmctlEventsTest, JsonPrintsOneObjectPerLine) {
  auto child = start({"--json", "--prefix", "j.", "--attachments"});
  await_subscribed(*child, "j.sync");
  shm::Client c(daemon_.socket_path());
  auto v = c.create_value<double>("j.v", 1.5);
  v.segment().detach();
  const std::string created = next_line_without(*child, "j.sync");
  EXPECT_EQ(created.rfind("{\"event\": \"created\", \"segment\": {", 0), 0U) << created;
  EXPECT_NE(created.find("\"name\": \"j.v\""), std::string::npos) << created;
  EXPECT_NE(created.find("\"typecode\": \"d\""), std::string::npos) << created;
  EXPECT_EQ(created.back(), '}');
  const std::string detached = next_line_without(*child, "j.sync");
  EXPECT_EQ(detached.rfind("{\"event\": \"detached\", \"segment\": {", 0), 0U) << detached;
  EXPECT_NE(detached.find("\"refcount\": 0"), std::string::npos) << detached;
}

TEST_F(ShmctlEventsTest, CountExitsZeroAfterThatManyLines) {
  auto child = start({"--count", "3", "--prefix", "c."});
  await_subscribed(*child, "c.sync");
  shmctl({"create", "c.more", "--type", "i"});  // at least one event more than the poker's, in case
  shmctl({"rm", "c.more"});
  const auto result = child->wait(60s);
  EXPECT_EQ(result.exit_code, 0);
  std::size_t lines = 1;  // the one await_subscribed read
  for (const char ch : result.out) lines += ch == '\n' ? 1U : 0U;
  EXPECT_EQ(lines, 3U) << result.out;
}

TEST_F(ShmctlEventsTest, ExitsThreeWhenTheDaemonStops) {
  auto child = start({});
  await_subscribed(*child, "s.sync");
  daemon_.stop(SIGTERM);
  EXPECT_EQ(child->wait(60s).exit_code, 3);
}

TEST_F(ShmctlEventsTest, BadPrefixIsAUsageError) {
  const auto r = shm::test::run({shmctl_bin_, "--socket", daemon_.socket_path(), "events", "--prefix", "a b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("prefix"), std::string::npos) << r.err;
}

TEST_F(ShmctlEventsTest, UnreachableDaemonExitsThree) {
  const auto r = shm::test::run({shmctl_bin_, "--socket", (daemon_.dir() / "nobody-here.sock").string(), "events"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("nobody-here.sock"), std::string::npos) << r.err;
}

TEST_F(ShmctlEventsTest, AnotherUserSeesNoEventsOfSegmentsItMayNotRead) {
  if (const std::string why = why_not_cross_user(); !why.empty()) GTEST_SKIP() << why;
  std::filesystem::permissions(daemon_.dir(), std::filesystem::perms(0755));
  shmctl_bin_ = shm::test::copy_for_other_users(SHMCTL_BIN, daemon_.dir().string());
  auto child = start({"--prefix", "acc."}, {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  await_subscribed(*child, "acc.sync", 0644);  // other-readable: nobody is shown it
  shmctl({"create", "acc.hidden", "--type", "i", "--mode", "0600"});
  shmctl({"create", "acc.shown", "--type", "i", "--mode", "0604"});
  shmctl({"chmod", "acc.hidden", "0640"});  // still not for nobody: no event either
  shmctl({"chmod", "acc.shown", "0600"});   // out of sight: shown once more, then never
  shmctl({"rm", "acc.shown", "acc.hidden"});
  shmctl({"create", "acc.end", "--type", "i", "--mode", "0644"});
  std::vector<std::string> seen;
  for (std::string line; (line = next_line_without(*child, "acc.sync")).rfind("created acc.end", 0) != 0;) {
    ASSERT_FALSE(line.empty()) << "shmctl events ended early";
    seen.push_back(line.substr(0, line.find(" id=")));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"created acc.shown", "mode_changed acc.shown"}));
}

}  // namespace
