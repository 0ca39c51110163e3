// shmctl end to end: the real binary against a real shmd on a per-test socket.

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "shm/shm.hpp"

namespace {

using shm::test::RunResult;

/// The text of `"key": <value>` in a flat JSON object: up to the next ',' or '}' (strings keep
/// their quotes). Enough to check shmctl's own output without a JSON library.
std::string json_field(const std::string& object, const std::string& key) {
  const std::string needle = "\"" + key + "\": ";
  const auto at = object.find(needle);
  if (at == std::string::npos) return "<missing " + key + ">";
  const auto start = at + needle.size();
  const auto end = object.find_first_of(",}", start);
  return object.substr(start, end - start);
}

/// Number of lines in `text`.
std::size_t line_count(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1U : 0U;
  return n;
}

/// Gives every test its own daemon, and runs shmctl against it.
class ShmctlTest : public ::testing::Test {
 protected:
  /// Runs `shmctl --socket <daemon> args...`.
  RunResult shmctl(std::vector<std::string> args) {
    args.insert(args.begin(), {SHMCTL_BIN, "--socket", daemon_.socket_path()});
    return shm::test::run(args);
  }
  /// Runs shmctl and expects exit status 0.
  std::string shmctl_ok(std::vector<std::string> args) {
    const RunResult r = shmctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  shm::test::DaemonProcess daemon_;  ///< a private shmd
};

TEST_F(ShmctlTest, CreateValueThenGetPrintsPythonRepr) {
  shmctl_ok({"create", "v", "--type", "d", "--value", "2.678"});
  EXPECT_EQ(shmctl_ok({"get", "v"}), "2.678\n");
  EXPECT_EQ(shmctl_ok({"get", "v", "--json"}), "2.678\n");
}

TEST_F(ShmctlTest, CreateWithoutValueIsZeroed) {
  shmctl_ok({"create", "z", "--type", "d"});
  EXPECT_EQ(shmctl_ok({"get", "z"}), "0.0\n");
}

TEST_F(ShmctlTest, SetValueRoundTrips) {
  shmctl_ok({"create", "n", "--type", "i"});
  shmctl_ok({"set", "n", "81"});
  EXPECT_EQ(shmctl_ok({"get", "n"}), "81\n");
  shmctl_ok({"set", "n", "--", "-5"});
  EXPECT_EQ(shmctl_ok({"get", "n", "--json"}), "-5\n");
}

TEST_F(ShmctlTest, ArrayInitSetAndGetRoundTrip) {
  shmctl_ok({"create", "arr", "--type", "i", "--init", "0,1,2"});
  EXPECT_EQ(shmctl_ok({"get", "arr"}), "[0, 1, 2]\n");
  shmctl_ok({"set", "arr", "0", "1", "4"});
  EXPECT_EQ(shmctl_ok({"get", "arr"}), "[0, 1, 4]\n");
  shmctl_ok({"set", "arr", "--index", "2", "9"});
  EXPECT_EQ(shmctl_ok({"get", "arr", "--json"}), "[0, 1, 9]\n");
}

TEST_F(ShmctlTest, ArrayLengthWithValueFillsEveryElement) {
  shmctl_ok({"create", "filled", "--type", "f", "--length", "3", "--value", "0.1"});
  EXPECT_EQ(shmctl_ok({"get", "filled"}), "[0.10000000149011612, 0.10000000149011612, 0.10000000149011612]\n");
}

TEST_F(ShmctlTest, CharArrayGetJsonPrintsStrings) {
  shmctl_ok({"create", "chars", "--type", "c", "--init", "a,\",\\x00"});
  EXPECT_EQ(shmctl_ok({"get", "chars"}), "[b'a', b'\"', b'\\x00']\n");
  EXPECT_EQ(shmctl_ok({"get", "chars", "--json"}), "[\"a\", \"\\\"\", \"\\u0000\"]\n");
}

TEST_F(ShmctlTest, WritesAreSeenByAnAttachedProgram) {
  shm::Client client(daemon_.socket_path());
  auto value = client.create_value<double>("shared", 1.0);
  shmctl_ok({"set", "shared", "2.5"});
  EXPECT_EQ(value.load(), 2.5);
  value.store(7.25);
  EXPECT_EQ(shmctl_ok({"get", "shared"}), "7.25\n");
}

TEST_F(ShmctlTest, GetOfMissingSegmentExitsOne) {
  const RunResult r = shmctl({"get", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("shmctl: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

TEST_F(ShmctlTest, InfoAndSetOfMissingSegmentExitOne) {
  EXPECT_EQ(shmctl({"info", "missing"}).exit_code, 1);
  EXPECT_EQ(shmctl({"set", "missing", "1"}).exit_code, 1);
}

TEST_F(ShmctlTest, CreateOfExistingNameExitsOne) {
  shmctl_ok({"create", "dup", "--type", "i"});
  const RunResult r = shmctl({"create", "dup", "--type", "i"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("shmctl: ", 0), 0U) << r.err;
}

TEST_F(ShmctlTest, SegmentLargerThanTheDaemonLimitExitsOne) {
  const RunResult r = shmctl({"create", "huge", "--type", "d", "--length", "1000000000000"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("shmctl: ", 0), 0U) << r.err;
}

TEST_F(ShmctlTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"create", "x", "--type", "z"},
      {"create", "x", "--type", "ii"},
      {"create", "x"},
      {"create", "x", "--type", "i", "--mode", "0888"},
      {"create", "x", "--type", "i", "--mode", "01000"},
      {"create", "x", "--type", "i", "--mode", "rw"},
      {"create", "x", "--type", "b", "--value", "300"},
      {"create", "x", "--type", "i", "--value", "1.5"},
      {"create", "x", "--type", "i", "--length", "2", "--init", "1,2,3"},
      {"create", "x", "--type", "i", "--length", "0"},
      {"create", "x", "--type", "i", "--value", "1", "--init", "1,2"},
      {"create", "x", "--type", "i", "--init", "1,,2"},
      {"frobnicate"},
      {},
      {"list", "--bogus"},
      {"get"},
      {"rm"},
  };
  for (const auto& args : bad) {
    const RunResult r = shmctl(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("shmctl: ", 0), 0U) << shown << "\n" << r.err;
  }
  EXPECT_EQ(shmctl_ok({"list"}), "NAME  TYPE  LENGTH  BYTES  REFS  OWNER  MODE  STATE\n") << "nothing was created";
}

TEST_F(ShmctlTest, SetWithWrongValueCountOrBadValueExitsTwo) {
  shmctl_ok({"create", "a3", "--type", "B", "--length", "3"});
  shmctl_ok({"create", "one", "--type", "h"});
  EXPECT_EQ(shmctl({"set", "a3", "1", "2"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "a3", "--index", "3", "1"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "a3", "--index", "0", "1", "2"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "a3", "1", "2", "256"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "one", "1", "2"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "one", "--index", "0", "1"}).exit_code, 2);
  EXPECT_EQ(shmctl({"set", "one", "junk"}).exit_code, 2);
  EXPECT_EQ(shmctl_ok({"get", "a3"}), "[0, 0, 0]\n") << "a rejected set writes nothing";
}

TEST_F(ShmctlTest, UnreachableDaemonExitsThreeNamingTheSocket) {
  const std::string nowhere = (daemon_.dir() / "nobody-listens.sock").string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"list"}, {"get", "x"}, {"rm", "a", "b"}, {"create", "x", "--type", "i"}}) {
    std::vector<std::string> argv{SHMCTL_BIN, "--socket", nowhere};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = shm::test::run(argv);
    EXPECT_EQ(r.exit_code, 3) << args.front() << ": " << r.err;
    EXPECT_EQ(r.err.rfind("shmctl: ", 0), 0U) << r.err;
    EXPECT_NE(r.err.find(nowhere), std::string::npos) << r.err;
  }
}

TEST_F(ShmctlTest, SocketDefaultsToShmdSocketEnvironmentVariable) {
  const RunResult r = shm::test::run({SHMCTL_BIN, "list"}, {{"SHMD_SOCKET", daemon_.socket_path()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ShmctlTest, EmptyListPrintsJustTheHeader) {
  EXPECT_EQ(shmctl_ok({"list"}), "NAME  TYPE  LENGTH  BYTES  REFS  OWNER  MODE  STATE\n");
  EXPECT_EQ(shmctl_ok({"list", "--json"}), "[]\n");
}

TEST_F(ShmctlTest, ListShowsReferencesHeldByOtherPrograms) {
  shm::Client client(daemon_.socket_path());
  auto held = client.create_array<int>("held", 10);
  auto again = client.attach_array<int>("held");
  shmctl_ok({"create", "free", "--type", "d", "--mode", "640"});

  const std::string table = shmctl_ok({"list"});
  ASSERT_EQ(line_count(table), 3U) << table;
  const std::string user = shm::test::run({"id", "-un"}).out;
  const auto first_row = table.substr(table.find('\n') + 1);
  // Sorted by name: "free" before "held".
  EXPECT_EQ(first_row.rfind("free  d", 0), 0U) << table;
  EXPECT_NE(table.find("held  i[10]  10      40     2     "), std::string::npos) << table;
  EXPECT_NE(table.find("0640  live"), std::string::npos) << table;
  EXPECT_NE(table.find("0600  live"), std::string::npos) << table;
  if (!user.empty()) {
    EXPECT_NE(table.find(user.substr(0, user.size() - 1)), std::string::npos) << table;
  }
}

TEST_F(ShmctlTest, ListJsonHasEveryFieldPerSegment) {
  shm::Client client(daemon_.socket_path());
  auto held = client.create_array<int>("held", 10);
  shmctl_ok({"create", "val", "--type", "d", "--mode", "0640"});

  const std::string json = shmctl_ok({"list", "--json"});
  ASSERT_EQ(json.front(), '[') << json;
  const auto held_at = json.find("{\"name\": \"held\"");
  const auto val_at = json.find("{\"name\": \"val\"");
  ASSERT_NE(held_at, std::string::npos) << json;
  ASSERT_NE(val_at, std::string::npos) << json;
  const std::string held_obj = json.substr(held_at, json.find('}', held_at) - held_at + 1);
  const std::string val_obj = json.substr(val_at, json.find('}', val_at) - val_at + 1);

  EXPECT_EQ(json_field(held_obj, "typecode"), "\"i\"");
  EXPECT_EQ(json_field(held_obj, "kind"), "\"array\"");
  EXPECT_EQ(json_field(held_obj, "length"), "10");
  EXPECT_EQ(json_field(held_obj, "element_size"), "4");
  EXPECT_EQ(json_field(held_obj, "size_bytes"), "40");
  EXPECT_EQ(json_field(held_obj, "refcount"), "1");
  EXPECT_EQ(json_field(held_obj, "uid"), std::to_string(::getuid()));
  EXPECT_EQ(json_field(held_obj, "gid"), std::to_string(::getgid()));
  EXPECT_EQ(json_field(held_obj, "mode"), "\"0600\"");
  EXPECT_EQ(json_field(held_obj, "ephemeral"), "false");
  EXPECT_EQ(json_field(held_obj, "removed"), "false");
  EXPECT_EQ(json_field(held_obj, "creator_pid"), std::to_string(::getpid()));

  EXPECT_EQ(json_field(val_obj, "typecode"), "\"d\"");
  EXPECT_EQ(json_field(val_obj, "kind"), "\"value\"");
  EXPECT_EQ(json_field(val_obj, "length"), "1");
  EXPECT_EQ(json_field(val_obj, "refcount"), "0");
  EXPECT_EQ(json_field(val_obj, "mode"), "\"0640\"");
  const std::string created = json_field(val_obj, "created");
  EXPECT_EQ(created.size(), 26U) << created;  // "YYYY-MM-DDTHH:MM:SS.mmmZ" with quotes
  EXPECT_EQ(created.substr(created.size() - 2), "Z\"") << created;
}

TEST_F(ShmctlTest, InfoJsonDescribesOneSegment) {
  shm::Client client(daemon_.socket_path());
  auto e = client.create_value<long long>("eph", 5, shm::CreateOptions{.mode = 0644, .ephemeral = true});
  const std::string json = shmctl_ok({"info", "eph", "--json"});
  ASSERT_EQ(line_count(json), 1U) << json;
  EXPECT_EQ(json.rfind("{\"name\": \"eph\", ", 0), 0U) << json;
  EXPECT_EQ(json_field(json, "typecode"), "\"q\"");
  EXPECT_EQ(json_field(json, "size_bytes"), "8");
  EXPECT_EQ(json_field(json, "refcount"), "1");
  EXPECT_EQ(json_field(json, "mode"), "\"0644\"");
  EXPECT_EQ(json_field(json, "ephemeral"), "true");
  EXPECT_EQ(json_field(json, "id"), std::to_string(e.info().id));

  const std::string text = shmctl_ok({"info", "eph"});
  EXPECT_NE(text.find("live,ephemeral"), std::string::npos) << text;
  EXPECT_NE(text.find("0644"), std::string::npos) << text;
}

TEST_F(ShmctlTest, EphemeralSegmentCreatedByShmctlVanishesWhenItExits) {
  shmctl_ok({"create", "gone", "--type", "i", "--ephemeral"});
  EXPECT_EQ(shmctl({"info", "gone"}).exit_code, 1);
}

TEST_F(ShmctlTest, RmOfAttachedSegmentFreesTheNameButNotTheMemory) {
  shm::Client client(daemon_.socket_path());
  auto v = client.create_value<int>("busy", 42);
  shmctl_ok({"rm", "busy"});
  EXPECT_EQ(shmctl({"get", "busy"}).exit_code, 1);
  const std::string table = shmctl_ok({"list"});
  ASSERT_EQ(line_count(table), 2U) << "a removed but attached segment is still listed\n" << table;
  EXPECT_EQ(json_field(shmctl_ok({"list", "--json"}), "refcount"), "1");
  EXPECT_NE(table.find("removed"), std::string::npos) << table;
  EXPECT_EQ(v.load(), 42) << "the attached program keeps its memory";

  shmctl_ok({"create", "busy", "--type", "d", "--value", "1"});
  EXPECT_EQ(shmctl_ok({"get", "busy"}), "1.0\n");
  v.detach();
  const std::string json = shmctl_ok({"list", "--json"});
  EXPECT_EQ(line_count(json), 3U) << "only the new segment is left\n" << json;
  EXPECT_EQ(json_field(json, "typecode"), "\"d\"") << json;
  EXPECT_EQ(json_field(json, "removed"), "false") << json;
}

TEST_F(ShmctlTest, RmReportsEachFailureAndRemovesTheRest) {
  shmctl_ok({"create", "a", "--type", "i"});
  shmctl_ok({"create", "b", "--type", "i"});
  const RunResult r = shmctl({"rm", "a", "nope1", "b", "nope2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(line_count(r.err), 2U) << r.err;
  EXPECT_NE(r.err.find("shmctl: rm nope1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shmctl: rm nope2"), std::string::npos) << r.err;
  EXPECT_EQ(shmctl_ok({"list", "--json"}), "[]\n");
}

TEST_F(ShmctlTest, HelpAndVersionExitZero) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"--version"}, {"create", "--help"}, {"list", "--help"}, {"rm", "--help"}}) {
    const RunResult r = shmctl(args);
    EXPECT_EQ(r.exit_code, 0) << args.front() << r.err;
    EXPECT_FALSE(r.out.empty());
  }
  EXPECT_NE(shmctl({"create", "--help"}).out.find("ephemeral"), std::string::npos);
}

}  // namespace

namespace {

TEST_F(ShmctlTest, ChmodChangesTheModeShownByInfo) {
  shmctl_ok({"create", "c", "--type", "i", "--mode", "0600"});
  EXPECT_EQ(shmctl_ok({"chmod", "c", "644"}), "c: mode 0644\n");
  EXPECT_EQ(json_field(shmctl_ok({"info", "c", "--json"}), "mode"), "\"0644\"");
}

TEST_F(ShmctlTest, ChmodOfMissingSegmentExitsOneAndBadModeExitsTwo) {
  const RunResult missing = shmctl({"chmod", "nope", "0644"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("shmctl:"), std::string::npos);
  shmctl_ok({"create", "c", "--type", "i"});
  EXPECT_EQ(shmctl({"chmod", "c", "0999"}).exit_code, 2);
  EXPECT_EQ(shmctl({"chmod", "c", "01777"}).exit_code, 2);
  EXPECT_EQ(shmctl({"chmod", "c"}).exit_code, 2);
}

}  // namespace
