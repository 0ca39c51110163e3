// shm-lab against a real daemon: the lab sheet's tasks run as separate processes that share
// segments by name, and leave nothing behind.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "eventually.hpp"
#include "shm/format.hpp"
#include "shm/shm.hpp"

namespace {

using namespace std::chrono_literals;
using shm::test::DaemonProcess;
using shm::test::RunResult;

/// Each test gets its own daemon on a private socket.
class LabTest : public ::testing::Test {
 protected:
  /// Runs `shm-lab ARGS --socket <the daemon's socket>`.
  RunResult lab(std::vector<std::string> args) {
    args.insert(args.begin(), SHM_LAB_BIN);
    args.insert(args.end(), {"--socket", daemon_.socket_path()});
    return shm::test::run(args, {}, 60s);
  }

  /// The names of the daemon's segments, once a dying process's references have been dropped:
  /// the daemon notices a killed client's closed connection on its own schedule, so this waits
  /// (up to a deadline) for the list to settle rather than reading it once.
  std::vector<std::string> settled_segment_names() {
    shm::Client client(daemon_.socket_path());
    std::vector<std::string> names;
    shm::test::eventually([&] {
      names.clear();
      for (const auto& info : client.list()) names.push_back(info.name);
      return names.empty();
    });
    return names;
  }

  DaemonProcess daemon_;  ///< the real shmd for this test
};

/// Parses one Python-style list of integers such as `[0, 1, 4]`.
std::vector<long> parse_python_list(std::string_view text) {
  std::vector<long> out;
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    ADD_FAILURE() << "not a Python list: " << text;
    return out;
  }
  std::istringstream in{std::string(text.substr(1, text.size() - 2))};
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stol(item));
  return out;
}

/// Splits `text` into its lines (without the '\n').
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Checks exercise2's output: two lists of `count` items, numbers in [0, 10], then their squares.
std::vector<long> expect_numbers_then_squares(const RunResult& r, std::size_t count) {
  const auto lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), 2U) << r.out;
  if (lines.size() != 2) return {};
  const auto numbers = parse_python_list(lines[0]);
  const auto squares = parse_python_list(lines[1]);
  EXPECT_EQ(numbers.size(), count);
  EXPECT_EQ(squares.size(), count);
  for (std::size_t i = 0; i < numbers.size() && i < squares.size(); ++i) {
    EXPECT_GE(numbers[i], 0);
    EXPECT_LE(numbers[i], 10);
    EXPECT_EQ(squares[i], numbers[i] * numbers[i]) << "element " << i;
  }
  return numbers;
}

TEST_F(LabTest, Example1PrintsTheValueItsChildStored) {
  const auto r = lab({"example1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2.678\n");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Example2PrintsTheArrayItsChildSquaredInPlace) {
  const auto r = lab({"example2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Exercise1TotalIsExactUnderContention) {
  // Enough updates that all five workers are still running when the last one starts.
  const auto r = lab({"exercise1", "--iterations", "100000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1111100000\n");  // 100000 * (1 + 10 + 100 + 1000 + 10000)
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Exercise1WorkerKilledWhileHoldingTheLockIsRecoveredAndOthersFinish) {
  const auto r = lab({"exercise1", "--iterations", "20000", "--crash-worker", "3"});
  EXPECT_EQ(r.signal, 0) << "shm-lab itself must not die";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Worker 3 made 10000 of its 20000 additions of 100 before it was killed.
  EXPECT_EQ(r.out, "221220000\n");
  EXPECT_NE(r.err.find("previous lock holder died; lock recovered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("worker 3 was killed by signal 9 (SIGKILL)"), std::string::npos) << r.err;
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Exercise1RecoversWhicheverWorkerIsKilled) {
  for (int worker = 1; worker <= 5; ++worker) {
    SCOPED_TRACE("worker " + std::to_string(worker));
    const auto r = lab({"exercise1", "--iterations", "2000", "--crash-worker", std::to_string(worker)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const long amount = std::lround(std::pow(10.0, worker - 1));
    EXPECT_EQ(r.out, std::to_string(2000L * 11111 - 1000L * amount) + "\n");
    EXPECT_NE(r.err.find("lock recovered"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Exercise2PrintsTheSquaresOfThePrintedNumbers) {
  const auto r = lab({"exercise2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_numbers_then_squares(r, 10);
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << "a random seed is printed so the run can be repeated";
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, Exercise2SameSeedGivesTheSameNumbers) {
  const auto first = lab({"exercise2", "--seed", "42"});
  const auto second = lab({"exercise2", "--seed", "42"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  expect_numbers_then_squares(first, 10);
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.err, "") << "no seed is announced when it was given";
}

TEST_F(LabTest, Exercise2CountScalesBothHalves) {
  for (const std::size_t count : {1UL, 7UL, 1000UL}) {
    SCOPED_TRACE("count " + std::to_string(count));
    const auto r = lab({"exercise2", "--seed", "7", "--count", std::to_string(count)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    expect_numbers_then_squares(r, count);
  }
  EXPECT_TRUE(settled_segment_names().empty());
}

TEST_F(LabTest, RunsLeaveNothingInShmctlList) {
  for (const char* task : {"example1", "example2", "exercise1", "exercise2"})
    EXPECT_EQ(lab({task}).exit_code, 0) << task;
  ASSERT_TRUE(settled_segment_names().empty());
  const auto r = shm::test::run({SHMCTL_BIN, "--socket", daemon_.socket_path(), "list", "--json"}, {}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("lab."), std::string::npos) << r.out;
}

TEST_F(LabTest, NamedSegmentsPersistWithEachTasksResult) {
  ASSERT_EQ(lab({"example1", "--name", "lab-test.value"}).exit_code, 0);
  ASSERT_EQ(lab({"example2", "--name", "lab-test.array"}).exit_code, 0);
  ASSERT_EQ(lab({"exercise1", "--name", "lab-test.total", "--iterations", "100"}).exit_code, 0);
  const auto squares = lab({"exercise2", "--name", "lab-test.squares", "--seed", "3"});
  ASSERT_EQ(squares.exit_code, 0) << squares.err;

  shm::Client client(daemon_.socket_path());
  auto value = client.attach_value<double>("lab-test.value");
  EXPECT_EQ(value.load(), 2.678);
  EXPECT_FALSE(value.info().ephemeral);
  auto array = client.attach_array<int>("lab-test.array");
  EXPECT_EQ(shm::to_python<int>(array.span()), "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
  EXPECT_EQ(client.attach_value<long>("lab-test.total").load(), 1111100);
  EXPECT_EQ(shm::to_python<int>(client.attach_array<int>("lab-test.squares").span()), lines_of(squares.out).at(1));
}

TEST_F(LabTest, NamedSegmentStartsFromTheInitialValueOnEveryRun) {
  for (int run = 0; run < 2; ++run) {
    const auto r = lab({"exercise1", "--name", "lab-test.again", "--iterations", "10"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "111110\n") << "run " << run;
  }
  EXPECT_EQ(lab({"example2", "--name", "lab-test.again2"}).exit_code, 0);
  const auto again = lab({"example2", "--name", "lab-test.again2"});
  EXPECT_EQ(again.out, "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n") << again.err;
}

TEST_F(LabTest, NamedSegmentOfAnotherTypeIsAClearError) {
  shm::Client client(daemon_.socket_path());
  auto taken = client.create_value<int>("lab-test.taken", 7);
  const auto r = lab({"example1", "--name", "lab-test.taken"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("shm-lab: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("lab-test.taken"), std::string::npos) << r.err;
  EXPECT_EQ(taken.load(), 7) << "the other segment is left alone";
}

TEST_F(LabTest, UnreachableDaemonIsReportedWithItsSocket) {
  const std::string nowhere = (daemon_.dir() / "nobody-listens.sock").string();
  const auto r = shm::test::run({SHM_LAB_BIN, "example1", "--socket", nowhere}, {}, 60s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("shm-lab: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find(nowhere), std::string::npos) << r.err;
}

TEST_F(LabTest, SocketComesFromShmdSocketWhenNotGiven) {
  const auto r = shm::test::run({SHM_LAB_BIN, "example1"}, {{"SHMD_SOCKET", daemon_.socket_path()}}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2.678\n");
}

TEST_F(LabTest, BadOptionsAreUsageErrors) {
  EXPECT_EQ(lab({"exercise1", "--crash-worker", "6"}).exit_code, 2);
  EXPECT_EQ(lab({"exercise1", "--iterations", "0"}).exit_code, 2);
  EXPECT_EQ(lab({"exercise2", "--count", "0"}).exit_code, 2);
  EXPECT_EQ(lab({"example1", "--name", "no spaces/allowed"}).exit_code, 2);
  EXPECT_EQ(shm::test::run({SHM_LAB_BIN}, {}, 60s).exit_code, 2);
  EXPECT_TRUE(settled_segment_names().empty());
}

}  // namespace
