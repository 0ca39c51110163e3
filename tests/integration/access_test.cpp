// Cross-user access control with really different users: the test runs as root and starts
// access-probe through `setpriv --reuid=U --regid=G --clear-groups`, so the daemon sees another
// uid in SO_PEERCRED. Checks reads, writes, remove and chmod against each mode, that a read-only
// attach cannot write whatever it tries, list privacy, root's override, and per-uid quotas.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "shm/shm.hpp"
#include "shmd.pb.h"

namespace {

using shm::Errc;
using shm::test::DaemonProcess;

/// nobody/nogroup, and two more unprivileged ids that own nothing on the system.
constexpr unsigned kNobody = 65534;
constexpr unsigned kStranger = 65533;
constexpr unsigned kOutsider = 65532;

/// What access-probe prints for a refusal with `e`.
std::string refused(Errc e) { return std::to_string(static_cast<int>(e)); }

/// Why the cross-user tests cannot run here, or "" if they can.
std::string why_not_runnable() {
  if (::geteuid() != 0) return "cross-user tests switch user with setpriv and must run as root";
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"})
    if (std::filesystem::exists(std::filesystem::path(dir) / "setpriv")) return {};
  return "setpriv (util-linux) is not installed";
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = why_not_runnable(); !why.empty()) GTEST_SKIP() << why;
    start({});
  }

  /// (Re)starts the daemon with `args`, its socket reachable by every user.
  void start(std::vector<std::string> args) {
    client_.reset();
    daemon_.reset();
    daemon_ = std::make_unique<DaemonProcess>(std::move(args));
    // DaemonProcess makes its directory 0700; other users need to reach the 0666 socket in it.
    std::filesystem::permissions(daemon_->dir(), std::filesystem::perms(0755));
    probe_ = shm::test::copy_for_other_users(ACCESS_PROBE_BIN, daemon_->dir().string());
    client_ = std::make_unique<shm::Client>(daemon_->socket_path());
  }

  /// Runs access-probe as uid:gid with no supplementary groups; returns its key=value lines.
  std::map<std::string, std::string> probe_as(unsigned uid, unsigned gid, std::vector<std::string> args) {
    std::vector<std::string> argv = {"setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(gid),
                                     "--clear-groups", probe_, daemon_->socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = shm::test::run(argv);
    EXPECT_EQ(result.exit_code, 0) << "access-probe failed: " << result.err;
    std::map<std::string, std::string> out;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);)
      if (const auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    return out;
  }
  /// Runs access-probe as nobody (65534:65534).
  std::map<std::string, std::string> probe(std::vector<std::string> args) {
    return probe_as(kNobody, kNobody, std::move(args));
  }

  /// Root creates a Value<double> holding `v` with `mode`.
  shm::Value<double> root_value(const std::string& name, double v, std::uint32_t mode) {
    shm::CreateOptions options;
    options.mode = mode;
    return client_->create_value<double>(name, v, options);
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::string probe_;  ///< access-probe, copied where every user may run it
  std::unique_ptr<shm::Client> client_;
};

TEST_F(AccessTest, PrivateSegmentCannotBeAttachedOrInspectedByOtherUsers) {
  auto v = root_value("secret", 2.5, 0600);
  EXPECT_EQ(probe({"read", "secret"})["attach"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"attach-rw", "secret"})["attach"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"write", "secret", "9"})["write"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"info", "secret"})["info"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"ro-attack", "secret", "9"})["attach"], std::to_string(shmd::v1::PERMISSION_DENIED));
  EXPECT_EQ(v.load(), 2.5);
}

TEST_F(AccessTest, ListShowsEveryNameButHidesCreatorPidAndTimeFromNonReaders) {
  auto secret = root_value("secret", 1.0, 0600);
  auto readable = root_value("open", 1.0, 0644);
  auto hidden = probe({"list", "secret"});
  EXPECT_EQ(hidden["listed"], "1");
  EXPECT_EQ(hidden["pid"], "0");
  EXPECT_EQ(hidden["created_ns"], "0");
  EXPECT_EQ(hidden["uid"], "0") << "owner and mode stay visible, as with ipcs";
  EXPECT_EQ(hidden["mode"], std::to_string(0600));
  auto visible = probe({"list", "open"});
  EXPECT_EQ(visible["listed"], "1");
  EXPECT_EQ(visible["pid"], std::to_string(::getpid()));
  EXPECT_NE(visible["created_ns"], "0");
  // The owner (root here) sees its own private segment in full.
  for (const auto& s : client_->list()) {
    if (s.name == "secret") {
      EXPECT_EQ(s.creator_pid, ::getpid());
    }
  }
}

TEST_F(AccessTest, WorldReadableSegmentIsReadOnlyForOtherUsers) {
  auto v = root_value("shared", 2.5, 0644);
  auto read = probe({"read", "shared"});
  EXPECT_EQ(read["attach"], "ok");
  EXPECT_EQ(read["value"], std::to_string(2.5));
  EXPECT_EQ(read["lock"], refused(Errc::permission_denied)) << "a read-only Value<const T> cannot take the lock";
  EXPECT_EQ(probe({"info", "shared"})["info"], "ok");
  EXPECT_EQ(probe({"attach-rw", "shared"})["attach"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"write", "shared", "9"})["write"], refused(Errc::permission_denied));
  EXPECT_EQ(v.load(), 2.5);
}

TEST_F(AccessTest, ReadOnlyAttachCannotWriteWhateverItTries) {
  auto v = root_value("shared", 2.5, 0644);
  auto r = probe({"ro-attack", "shared", "666"});
  ASSERT_EQ(r["attach"], "ok");
  for (const char* attempt : {"mmap_shared_write", "mprotect_write", "madvise_remove", "pwrite", "ftruncate",
                              "fallocate", "fchmod", "add_seals", "reopen_rdwr"}) {
    ASSERT_TRUE(r.contains(attempt)) << attempt << " was not tried";
    EXPECT_NE(r[attempt], "succeeded") << "a read-only fd allowed " << attempt;
  }
  EXPECT_EQ(r["mmap_shared_write"], "EACCES");
  EXPECT_EQ(r["mprotect_write"], "EACCES");
  EXPECT_EQ(r["private_copy_write"], "private");
  EXPECT_EQ(r["value"], std::to_string(2.5)) << "the read-only mapping reads the shared value";
  EXPECT_EQ(v.load(), 2.5) << "a write through the read-only attach reached the segment";
}

TEST_F(AccessTest, WorldWritableSegmentTakesWritesTheOwnerSees) {
  auto v = root_value("board", 1.0, 0666);
  EXPECT_EQ(probe({"write", "board", "7.25"})["write"], "ok");
  EXPECT_EQ(v.load(), 7.25);
  EXPECT_EQ(probe({"read", "board"})["value"], std::to_string(7.25));
}

TEST_F(AccessTest, NonOwnerCannotRemoveOrChmodEvenAWorldWritableSegment) {
  auto v = root_value("board", 1.0, 0666);
  EXPECT_EQ(probe({"remove", "board"})["remove"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"chmod", "board", "0777"})["chmod"], refused(Errc::permission_denied));
  const auto info = client_->info("board");
  EXPECT_FALSE(info.removed);
  EXPECT_EQ(info.mode, 0666u);
  // The same between two unprivileged users: 65534 owns it, 65533 may write but not remove.
  ASSERT_EQ(probe({"create-many", "mine", "1", "0666"})["create0"], "ok");
  EXPECT_EQ(probe_as(kStranger, kStranger, {"write", "mine0", "3"})["write"], "ok");
  EXPECT_EQ(probe_as(kStranger, kStranger, {"remove", "mine0"})["remove"], refused(Errc::permission_denied));
  EXPECT_EQ(probe_as(kStranger, kStranger, {"chmod", "mine0", "0600"})["chmod"], refused(Errc::permission_denied));
  EXPECT_EQ(probe({"remove", "mine0"})["remove"], "ok") << "the owner may remove it";
}

TEST_F(AccessTest, OwnerChmodTakesEffectImmediately) {
  auto v = root_value("gate", 4.5, 0600);
  EXPECT_EQ(probe({"read", "gate"})["attach"], refused(Errc::permission_denied));
  client_->chmod("gate", 0644);
  EXPECT_EQ(probe({"read", "gate"})["value"], std::to_string(4.5));
  EXPECT_EQ(probe({"write", "gate", "1"})["write"], refused(Errc::permission_denied));
  client_->chmod("gate", 0666);
  EXPECT_EQ(probe({"write", "gate", "5.5"})["write"], "ok");
  EXPECT_EQ(v.load(), 5.5);
  client_->chmod("gate", 0600);
  EXPECT_EQ(probe({"read", "gate"})["attach"], refused(Errc::permission_denied));

  // An unprivileged owner may chmod its own segment, and that binds other users at once.
  ASSERT_EQ(probe({"create-many", "own", "1", "0644"})["create0"], "ok");
  EXPECT_EQ(probe_as(kStranger, kStranger, {"read", "own0"})["attach"], "ok");
  EXPECT_EQ(probe({"chmod", "own0", "0600"})["chmod"], "ok");
  EXPECT_EQ(probe_as(kStranger, kStranger, {"read", "own0"})["attach"], refused(Errc::permission_denied));
  EXPECT_EQ(client_->info("own0").mode, 0600u);
}

TEST_F(AccessTest, GroupBitsApplyToMembersOfTheCreatorsGroup) {
  // 65533 creates with its primary group 65534; nobody (65534:65534) is a member, 65532 is not.
  ASSERT_EQ(probe_as(kStranger, kNobody, {"create-many", "team", "1", "0640"})["create0"], "ok");
  auto member = probe({"read", "team0"});
  EXPECT_EQ(member["attach"], "ok");
  EXPECT_EQ(member["value"], std::to_string(1.0));
  EXPECT_EQ(probe({"write", "team0", "2"})["write"], refused(Errc::permission_denied));
  EXPECT_EQ(probe_as(kOutsider, kOutsider, {"read", "team0"})["attach"], refused(Errc::permission_denied));
  EXPECT_EQ(probe_as(kStranger, kNobody, {"write", "team0", "3"})["write"], "ok") << "the owner may write";
}

TEST_F(AccessTest, RootPassesEveryCheck) {
  ASSERT_EQ(probe({"create-many", "locked", "1", "0600"})["create0"], "ok");
  ASSERT_EQ(probe({"chmod", "locked0", "0"})["chmod"], "ok");
  EXPECT_EQ(probe({"read", "locked0"})["attach"], refused(Errc::permission_denied))
      << "mode 0000 locks out even the owner";
  auto v = client_->attach_value<double>("locked0");
  EXPECT_EQ(v.load(), 1.0);
  v.store(8.0);
  EXPECT_EQ(client_->info("locked0").uid, kNobody);
  EXPECT_NE(client_->info("locked0").creator_pid, 0) << "root sees the creator pid";
  client_->chmod("locked0", 0400);  // root may chmod what it does not own
  EXPECT_EQ(probe({"read", "locked0"})["value"], std::to_string(8.0));
  client_->remove("locked0");
  std::error_code ec;
  client_->info("locked0", ec);
  EXPECT_EQ(ec, Errc::not_found);
}

TEST_F(AccessTest, PerUidSegmentQuotaStopsOneUserButNotRootOrOthers) {
  start({"--max-segments-per-uid", "2"});
  auto made = probe({"create-many", "q", "3", "0644"});
  EXPECT_EQ(made["create0"], "ok");
  EXPECT_EQ(made["create1"], "ok");
  EXPECT_EQ(made["create2"], refused(Errc::limit_exceeded));
  // Another uid has a quota of its own, and root has none.
  auto other = probe_as(kStranger, kStranger, {"create-many", "s", "2", "0644"});
  EXPECT_EQ(other["create0"], "ok");
  EXPECT_EQ(other["create1"], "ok");
  std::vector<shm::Value<double>> mine;
  for (int i = 0; i < 5; ++i) mine.push_back(root_value("root" + std::to_string(i), 0.0, 0600));
  // Freeing one of nobody's segments gives the quota back.
  client_->remove("q0");
  EXPECT_EQ(probe({"create-many", "again", "1", "0644"})["create0"], "ok");
}

TEST_F(AccessTest, PerUidByteQuotaRefusesWithAClearError) {
  // A Value<double> maps 136 bytes (128 header + 8): two fit in 300, a third does not.
  start({"--max-bytes-per-uid", "300"});
  auto made = probe({"create-many", "b", "3", "0644"});
  EXPECT_EQ(made["create0"], "ok");
  EXPECT_EQ(made["create1"], "ok");
  EXPECT_EQ(made["create2"], refused(Errc::limit_exceeded));
  for (int i = 0; i < 4; ++i) (void)root_value("rootb" + std::to_string(i), 0.0, 0600);
  EXPECT_EQ(client_->list().size(), 6u);
}

}  // namespace
