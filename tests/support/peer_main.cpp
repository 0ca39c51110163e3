// shm-test-peer: a real client process for the integration tests, built only on libshmclient's
// public API. It prints one line per event ("attached", "locked", ...) and flushes, so a test
// awaits the line instead of sleeping. Commands that hold something wait for EOF on stdin (the
// test closes it, or kills the peer).
//
//   shm-test-peer SOCKET write-double NAME V      attach Value<double>, store V, print "done"
//   shm-test-peer SOCKET read-double NAME         attach Value<double>, print its value
//   shm-test-peer SOCKET double-session NAME      attach Value<double>, print "attached", then
//                                                 answer stdin lines "get" (value) and "set V" ("ok")
//   shm-test-peer SOCKET attach-and-wait NAME     attach any segment, print "attached", wait
//   shm-test-peer SOCKET create-and-wait NAME [ephemeral]
//                                                 create Value<int>, print "created", wait
//   shm-test-peer SOCKET lock-and-wait NAME       attach, lock, print "locked", wait, unlock
//   shm-test-peer SOCKET lock-and-report NAME     attach, lock, print "owner_died=0|1", unlock
//   shm-test-peer SOCKET add-int NAME N           attach Value<int>, N times lock and ++, print "done"
//   shm-test-peer SOCKET hold-array NAME N SECONDS
//                                                 create an ephemeral Array<int> of N squares, hold it
//                                                 for SECONDS (0: the default), print the token, exit
//   shm-test-peer SOCKET claim-array NAME TOKEN   claim_array<int>, print "v0,v1,... refcount=R holds=H"
//                                                 (from info after the claim), exit
//   shm-test-peer SOCKET wait-int NAME MS ro|rw   attach Value<int> (read-only or not), take changes(),
//                                                 print "waiting V", wait(seen, MS ms; -1: for ever),
//                                                 print "changed|timed_out|removed V"
//   shm-test-peer SOCKET wait-array NAME MS ro|rw the same on an Array<int>, printing element 0
//   shm-test-peer SOCKET follow-int NAME FINAL ro|rw
//                                                 attach Value<int>, print "following", then wait for
//                                                 each change until the value reaches FINAL; print
//                                                 "reached V" or, if it ever goes down or a wait ends
//                                                 otherwise, "went down A B" / the wait's status, exit 1
//   shm-test-peer SOCKET wait-for-int NAME TARGET MS
//                                                 attach Value<int>, print "waiting", wait_for(value ==
//                                                 TARGET, MS ms), print the status and the value
//
// Exit codes: 0 success, 1 an shm error (printed to stderr), 2 bad usage.

#include <sys/prctl.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "shm/shm.hpp"

namespace {

/// Shortest text that reads back as exactly `v`.
std::string text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void say(const std::string& line) {
  std::cout << line << std::endl;  // endl: the test is waiting for this line
}

/// Blocks until stdin reaches EOF, answering nothing.
void wait_for_eof() {
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
}

const char* status_text(shm::WaitStatus s) {
  switch (s) {
    case shm::WaitStatus::changed: return "changed";
    case shm::WaitStatus::timed_out: return "timed_out";
    case shm::WaitStatus::removed: return "removed";
  }
  return "?";
}

std::chrono::nanoseconds timeout_ms(const std::string& ms) {
  const long n = std::stol(ms);
  return n < 0 ? std::chrono::nanoseconds::max() : std::chrono::nanoseconds(std::chrono::milliseconds(n));
}

/// wait-int and wait-array on an attached handle whose element 0 `first()` reads.
template <typename Handle, typename First>
void wait_once(Handle& h, const std::string& ms, First first) {
  const std::uint32_t seen = h.changes();
  say("waiting " + std::to_string(first()));
  const shm::WaitResult r = h.wait(seen, timeout_ms(ms));
  say(std::string(status_text(r.status)) + " " + std::to_string(first()));
}

/// follow-int: every value seen only goes up, and FINAL is reached; returns the exit code.
template <typename Handle>
int follow(Handle& v, int final_value) {
  std::uint32_t seen = v.changes();
  say("following");
  int last = v.load();
  for (;;) {
    const int now = v.load();
    if (now < last) {
      say("went down " + std::to_string(last) + " " + std::to_string(now));
      return 1;
    }
    last = now;
    if (now >= final_value) {
      say("reached " + std::to_string(now));
      return 0;
    }
    const shm::WaitResult r = v.wait(seen, std::chrono::seconds(30));
    if (!r.changed()) {
      say(std::string(status_text(r.status)) + " at " + std::to_string(v.load()));
      return 1;
    }
    seen = r.changes;
  }
}

int usage() {
  std::cerr << "usage: shm-test-peer SOCKET COMMAND NAME [ARGS...] (see peer_main.cpp)\n";
  return 2;
}

int run(const std::vector<std::string>& args) {
  if (args.size() < 3) return usage();
  const std::string& command = args[1];
  const std::string& name = args[2];
  shm::Client client(args[0]);

  if (command == "write-double" && args.size() == 4) {
    auto v = client.attach_value<double>(name);
    v.store(std::stod(args[3]));
    say("done");
  } else if (command == "read-double") {
    auto v = client.attach_value<double>(name);
    say(text(v.load()));
  } else if (command == "double-session") {
    auto v = client.attach_value<double>(name);
    say("attached");
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "get") {
        say(text(v.load()));
      } else if (line.starts_with("set ")) {
        v.store(std::stod(line.substr(4)));
        say("ok");
      } else {
        say("unknown command: " + line);
      }
    }
  } else if (command == "attach-and-wait") {
    auto s = client.attach(name);
    say("attached");
    wait_for_eof();
  } else if (command == "create-and-wait") {
    shm::CreateOptions options;
    options.ephemeral = args.size() == 4 && args[3] == "ephemeral";
    auto v = client.create_value<int>(name, 0, options);
    say("created");
    wait_for_eof();
  } else if (command == "lock-and-wait") {
    auto s = client.attach(name);
    auto guard = s.lock();
    say("locked");
    wait_for_eof();
  } else if (command == "lock-and-report") {
    auto s = client.attach(name);
    auto guard = s.lock();
    say(guard.owner_died() ? "owner_died=1" : "owner_died=0");
  } else if (command == "add-int" && args.size() == 4) {
    auto v = client.attach_value<int>(name);
    const long n = std::stol(args[3]);
    for (long i = 0; i < n; ++i) {
      auto guard = v.lock();
      ++v.get();
    }
    say("done");
  } else if (command == "hold-array" && args.size() == 5) {
    shm::CreateOptions options;
    options.ephemeral = true;
    auto a = client.create_array<int>(name, std::stoul(args[3]), options);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int>(i * i);
    say(std::to_string(client.hold(a.segment(), std::chrono::seconds(std::stol(args[4])))));
  } else if (command == "claim-array" && args.size() == 4) {
    auto a = client.claim_array<int>(name, std::stoull(args[3]));
    const auto info = client.info(name);
    std::string line;
    for (std::size_t i = 0; i < a.size(); ++i) line += (i == 0 ? "" : ",") + std::to_string(a[i]);
    say(line + " refcount=" + std::to_string(info.refcount) + " holds=" + std::to_string(info.holds));
  } else if (command == "wait-int" && args.size() == 5 && args[4] == "ro") {
    auto v = client.attach_value<const int>(name);
    wait_once(v, args[3], [&] { return v.load(); });
  } else if (command == "wait-int" && args.size() == 5 && args[4] == "rw") {
    auto v = client.attach_value<int>(name);
    wait_once(v, args[3], [&] { return v.load(); });
  } else if (command == "wait-array" && args.size() == 5 && args[4] == "ro") {
    auto a = client.attach_array<const int>(name);
    wait_once(a, args[3], [&] { return a[0]; });
  } else if (command == "wait-array" && args.size() == 5 && args[4] == "rw") {
    auto a = client.attach_array<int>(name);
    wait_once(a, args[3], [&] { return a[0]; });
  } else if (command == "follow-int" && args.size() == 5 && args[4] == "ro") {
    auto v = client.attach_value<const int>(name);
    return follow(v, std::stoi(args[3]));
  } else if (command == "follow-int" && args.size() == 5 && args[4] == "rw") {
    auto v = client.attach_value<int>(name);
    return follow(v, std::stoi(args[3]));
  } else if (command == "wait-for-int" && args.size() == 5) {
    auto v = client.attach_value<int>(name);
    const int target = std::stoi(args[3]);
    say("waiting");
    const shm::WaitResult r = v.wait_for([&](int x) { return x == target; }, timeout_ms(args[4]));
    say(std::string(status_text(r.status)) + " " + std::to_string(v.load()));
  } else {
    return usage();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // If the test binary dies, take this peer with it rather than leaving it behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const shm::Error& e) {
    std::cerr << "shm-test-peer: " << e.what() << " [" << e.code().value() << "]\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "shm-test-peer: " << e.what() << "\n";
    return 2;
  }
}
