// shmctl watch end to end: the real binary against a real shmd, woken by this process's writes.
// shmctl takes the segment's change count before it prints a line, so a write made after a line
// was read is one it must print.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::ChildProcess;
using shm::test::RunResult;

class ShmctlWatchTest : public ::testing::Test {
 protected:
  std::vector<std::string> shmctl_argv(std::vector<std::string> args) const {
    args.insert(args.begin(), {SHMCTL_BIN, "--socket", daemon_.socket_path()});
    return args;
  }
  RunResult shmctl(std::vector<std::string> args) const { return shm::test::run(shmctl_argv(std::move(args))); }

  shm::test::DaemonProcess daemon_;            ///< a private shmd
  shm::Client client_{daemon_.socket_path()};  ///< the writer
};

TEST_F(ShmctlWatchTest, PrintsTheValueThenEachChangeAndExitsZeroAfterCount) {
  auto v = client_.create_value<int>("watched", 0);
  ChildProcess watch(shmctl_argv({"watch", "watched", "--count", "3"}));
  ASSERT_EQ(watch.read_line(), "0");
  v.store(5);
  ASSERT_EQ(watch.read_line(), "5");
  v.fetch_add(2);
  ASSERT_EQ(watch.read_line(), "7");
  {
    auto guard = v.lock();
    v.get() = 9;
  }
  ASSERT_EQ(watch.read_line(), "9");
  const RunResult r = watch.wait();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST_F(ShmctlWatchTest, ArrayAsJsonPrintsTheElementsAsGetDoes) {
  auto a = client_.create_array<double>("watched.array", 2);
  ChildProcess watch(shmctl_argv({"watch", "watched.array", "--json", "-n", "1"}));
  ASSERT_EQ(watch.read_line(), "[0.0, 0.0]");
  {
    auto guard = a.lock();
    a[0] = 1.5;
    a[1] = -2.0;
  }
  const std::string line = watch.read_line();
  EXPECT_EQ(watch.wait().exit_code, 0);
  const RunResult get = shmctl({"get", "watched.array", "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(line + "\n", get.out);
  EXPECT_NE(line, "[0.0, 0.0]");
}

// As nobody, on a segment root made 0644: the r bit and nothing else (root would pass any check).
TEST_F(ShmctlWatchTest, WorksWithTheReadBitAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "runs shmctl as uid 65534 with setpriv: needs root";
  if (!std::filesystem::exists("/usr/bin/setpriv") && !std::filesystem::exists("/bin/setpriv"))
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  std::filesystem::permissions(daemon_.dir(), std::filesystem::perms(0755));  // nobody reaches the socket
  const std::string shmctl = shm::test::copy_for_other_users(SHMCTL_BIN, daemon_.dir().string());
  auto v = client_.create_value<int>("readable", 1, {.mode = 0644});
  auto as_nobody = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"setpriv", "--reuid=65534", "--regid=65534",      "--clear-groups",
                                     shmctl,    "--socket",      daemon_.socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  ASSERT_EQ(shm::test::run(as_nobody({"set", "readable", "2"})).exit_code, 1) << "nobody may not write it";
  ChildProcess watch(as_nobody({"watch", "readable", "--count", "1"}));
  ASSERT_EQ(watch.read_line(), "1");
  v.store(3);
  EXPECT_EQ(watch.read_line(), "3");
  EXPECT_EQ(watch.wait().exit_code, 0);
}

TEST_F(ShmctlWatchTest, ExitsOneWhenNothingChangesWithinTheTimeout) {
  auto v = client_.create_value<int>("quiet", 4);
  const RunResult r = shmctl({"watch", "quiet", "--timeout", "0.2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "4\n");
  EXPECT_NE(r.err.find("watch quiet: no change in 0.2 s"), std::string::npos) << r.err;
}

TEST_F(ShmctlWatchTest, ExitsOneWhenTheSegmentIsRemoved) {
  auto v = client_.create_value<int>("doomed", 0);
  ChildProcess watch(shmctl_argv({"watch", "doomed"}));
  ASSERT_EQ(watch.read_line(), "0");
  client_.remove("doomed");
  const RunResult r = watch.wait();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
}

TEST_F(ShmctlWatchTest, ExitStatusesAsTheOtherCommandsHaveThem) {
  const RunResult missing = shmctl({"watch", "no.such.segment", "--timeout", "1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no.such.segment"), std::string::npos) << missing.err;
  EXPECT_EQ(shmctl({"watch"}).exit_code, 2);
  EXPECT_EQ(shmctl({"watch", "x", "--timeout", "-1"}).exit_code, 2);
  EXPECT_EQ(shmctl({"watch", "x", "--count", "many"}).exit_code, 2);
  const RunResult unreachable =
      shm::test::run({SHMCTL_BIN, "--socket", (daemon_.dir() / "nobody.sock").string(), "watch", "x"});
  EXPECT_EQ(unreachable.exit_code, 3);
}

}  // namespace
