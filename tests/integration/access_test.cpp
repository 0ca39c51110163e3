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
    shmctl_.clear();
    client_ = std::make_unique<shm::Client>(daemon_->socket_path());
  }

  /// Runs access-probe as uid:gid with no supplementary groups; returns its key=value lines.
  std::map<std::string, std::string> probe_as(unsigned uid, unsigned gid, std::vector<std::string> args) {
    std::vector<std::string> argv = {"setpriv",
                                     "--reuid=" + std::to_string(uid),
                                     "--regid=" + std::to_string(gid),
                                     "--clear-groups",
                                     probe_,
                                     daemon_->socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = shm::test::run(argv);
    EXPECT_EQ(result.exit_code, 0) << "access-probe failed: " << result.err;
    std::map<std::string, std::string> out;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);)
      if (const auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    return out;
  }
  /// Runs the real shmctl as uid:gid with no supplementary groups, as another user would.
  shm::test::RunResult shmctl_as(unsigned uid, unsigned gid, std::vector<std::string> args) {
    if (shmctl_.empty()) shmctl_ = shm::test::copy_for_other_users(SHMCTL_BIN, daemon_->dir().string());
    std::vector<std::string> argv = {"setpriv",
                                     "--reuid=" + std::to_string(uid),
                                     "--regid=" + std::to_string(gid),
                                     "--clear-groups",
                                     shmctl_,
                                     "--socket",
                                     daemon_->socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return shm::test::run(argv);
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
  std::string probe_;   ///< access-probe, copied where every user may run it
  std::string shmctl_;  ///< shmctl, copied likewise on first use
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

// `shmctl get` needs only the r bit, under the SysV rules: exactly one class of bits applies
// (owner, else group, else other), so a group member of a 0604 segment is refused although
// strangers may read it. The owner is 65533 with group 65534; nobody (65534:65534) is a member
// of that group; 65532 is neither. Each cell runs the real shmctl as that user.
TEST_F(AccessTest, ShmctlGetNeedsOnlyTheReadBitOfTheCallersClass) {
  struct Who {
    const char* role;
    unsigned uid;
    unsigned gid;
  };
  const Who owner{"owner", kStranger, kNobody};
  const Who member{"group member", kNobody, kNobody};
  const Who other{"other", kOutsider, kOutsider};
  struct Row {
    const char* mode;
    bool owner, member, other;  ///< may read
  };
  const Row rows[] = {
      {"0600", true, false, false},
      {"0640", true, true, false},
      {"0644", true, true, true},
      {"0604", true, false, true},
  };
  for (const Row& row : rows) {
    const std::string name = std::string("m") + row.mode + "-0";
    ASSERT_EQ(
        probe_as(owner.uid, owner.gid, {"create-many", std::string("m") + row.mode + "-", "1", row.mode})["create0"],
        "ok");
    for (const auto& [who, may_read] :
         {std::pair{owner, row.owner}, std::pair{member, row.member}, std::pair{other, row.other}}) {
      SCOPED_TRACE(std::string(who.role) + " of a " + row.mode + " segment");
      const auto r = shmctl_as(who.uid, who.gid, {"get", name});
      if (may_read) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, "1.0\n");
        EXPECT_EQ(r.err, "");
      } else {
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(r.err, "shmctl: get " + name + ": permission denied: segment '" + name + "' (mode " + row.mode +
                             ") may not be attached read-only (that needs the r bit) by uid " +
                             std::to_string(who.uid) + "\n");
      }
    }
    // root passes every check, as with SysV IPC.
    const auto root = shm::test::run({SHMCTL_BIN, "--socket", daemon_->socket_path(), "get", name});
    EXPECT_EQ(root.exit_code, 0) << root.err;
    EXPECT_EQ(root.out, "1.0\n");
    // A get leaves no reference behind, whoever ran it.
    EXPECT_EQ(client_->info(name).refcount, 0u) << row.mode;
  }
}

TEST_F(AccessTest, ShmctlInfoAndGetWorkForAReaderWhileWritingIsRefusedAsWriting) {
  ASSERT_EQ(probe_as(kStranger, kNobody, {"create-many", "pub", "1", "0644"})["create0"], "ok");
  const auto info = shmctl_as(kOutsider, kOutsider, {"info", "pub0", "--json"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("\"name\": \"pub0\""), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("\"mode\": \"0644\""), std::string::npos) << info.out;
  EXPECT_EQ(shmctl_as(kOutsider, kOutsider, {"get", "pub0", "--json"}).out, "1.0\n");

  // What needs the w bit is refused, and the message says it was asked for writing.
  const std::string refusal =
      "segment 'pub0' (mode 0644) may not be attached read-write (that needs the r and w "
      "bits) by uid " +
      std::to_string(kOutsider) + "\n";
  const auto set = shmctl_as(kOutsider, kOutsider, {"set", "pub0", "2"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_EQ(set.err, "shmctl: set pub0: permission denied: " + refusal);
  const auto locked = shmctl_as(kOutsider, kOutsider, {"get", "pub0", "--lock"});
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_EQ(locked.err, "shmctl: get pub0: permission denied: " + refusal);
  EXPECT_EQ(shmctl_as(kStranger, kNobody, {"get", "pub0", "--lock"}).out, "1.0\n") << "the owner may lock";

  // Info of a segment the caller may not read is refused.
  ASSERT_EQ(probe_as(kStranger, kNobody, {"create-many", "priv", "1", "0600"})["create0"], "ok");
  const auto hidden = shmctl_as(kOutsider, kOutsider, {"info", "priv0"});
  EXPECT_EQ(hidden.exit_code, 1);
  EXPECT_EQ(hidden.out, "");
  EXPECT_EQ(hidden.err, "shmctl: info priv0: permission denied: segment 'priv0' (mode 0600) is not readable by uid " +
                            std::to_string(kOutsider) + "\n");
}

}  // namespace
