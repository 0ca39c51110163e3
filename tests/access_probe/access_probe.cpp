// access-probe: one client operation per run, for tests that run it as another user. It prints
// `key=value` lines and exits 0 (2 on bad usage); a refused operation is a result, not a failure.
// Error values are shm::Errc numbers; attack results are "succeeded" or an errno name.
//
//   access-probe SOCKET read NAME            attach_value<const double>: attach=, value=, lock=
//   access-probe SOCKET attach-rw NAME       attach read-write: attach=
//   access-probe SOCKET write NAME V         attach_value<double>, store V: write=
//   access-probe SOCKET info NAME            info=, pid=
//   access-probe SOCKET list NAME            listed=0|1, pid=, created_ns=, uid=, mode=
//   access-probe SOCKET remove NAME          remove=
//   access-probe SOCKET chmod NAME MODE      chmod= (MODE in octal)
//   access-probe SOCKET create-many PREFIX N MODE  creates PREFIX0.. Value<double>s (1.0) with
//                                            octal MODE: create0= ...
//   access-probe SOCKET ro-attack NAME V     read-only attach by the raw protocol, then every way
//                                            to write V through that fd: mmap_shared_write=,
//                                            mprotect_write=, pwrite=, ftruncate=, fallocate=,
//                                            madvise_remove=, fchmod=, add_seals=,
//                                            reopen_rdwr=, private_copy_write=, value=
//   access-probe SOCKET connect N            N connections held at once, Hello on each:
//                                            conn0=ok|closed|<wire error code> ...

#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shm/mapping.hpp"
#include "shm/shm.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"

namespace {

void say(const std::string& key, const std::string& value) { std::cout << key << '=' << value << std::endl; }

std::string code(const std::error_code& ec) { return ec ? std::to_string(ec.value()) : "ok"; }

/// "succeeded" when a system call that must fail did not, else the errno's name.
std::string outcome(bool succeeded, int err) {
  if (succeeded) return "succeeded";
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

/// Runs `call` (true on success) and describes the outcome; errno is read after the call.
template <class Call>
std::string attempt(Call call) {
  errno = 0;
  const bool ok = call();
  const int err = errno;
  return outcome(ok, err);
}

/// One raw protocol connection: frames requests, reassembles replies, keeps passed fds.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) : socket_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (!socket_ || path.size() >= sizeof addr.sun_path) return;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) socket_.reset();
  }
  [[nodiscard]] bool connected() const { return static_cast<bool>(socket_); }

  bool send(const shmd::v1::Request& request) {
    std::string frame;
    shm::wire::append_frame(frame, request.SerializeAsString());
    std::string_view rest = frame;
    while (!rest.empty()) {
      const ssize_t n = ::send(socket_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// The next reply (waiting up to 10 s), or nullopt on EOF, timeout or a broken stream.
  std::optional<shmd::v1::Response> receive() {
    std::string payload;
    while (!decoder_.next(payload)) {
      if (decoder_.error() != shm::wire::FrameError::none) return std::nullopt;
      pollfd p{socket_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) return std::nullopt;
      std::array<std::byte, 16384> buf;
      std::error_code ec;
      const std::size_t n = shm::wire::recv_with_fds(socket_.get(), buf, fds_, ec);
      if (ec || n == 0) return std::nullopt;
      decoder_.feed(std::span<const std::byte>(buf.data(), n));
    }
    shmd::v1::Response response;
    if (!response.ParseFromString(payload)) return std::nullopt;
    return response;
  }

  /// Takes the oldest fd that arrived.
  shm::UniqueFd take_fd() {
    if (fds_.empty()) return {};
    shm::UniqueFd fd = std::move(fds_.front());
    fds_.erase(fds_.begin());
    return fd;
  }

 private:
  shm::UniqueFd socket_;
  shm::wire::FrameDecoder decoder_;
  std::vector<shm::UniqueFd> fds_;
};

/// Unmaps on scope exit a region mapped by a raw mmap whose success is itself under test.
struct RawMap {
  void* p = MAP_FAILED;
  std::size_t size = 0;
  RawMap(void* addr, std::size_t n) : p(addr), size(n) {}
  RawMap(const RawMap&) = delete;
  RawMap& operator=(const RawMap&) = delete;
  ~RawMap() {
    if (p != MAP_FAILED) ::munmap(p, size);
  }
  [[nodiscard]] bool ok() const { return p != MAP_FAILED; }
  [[nodiscard]] std::byte* bytes() const { return static_cast<std::byte*>(p); }
};

int ro_attack(const std::string& socket, const std::string& name, double v) {
  RawConnection conn(socket);
  if (!conn.connected()) {
    say("attach", "cannot connect");
    return 0;
  }
  shmd::v1::Request req;
  req.set_request_id(1);
  req.mutable_attach()->set_name(name);
  req.mutable_attach()->set_read_only(true);
  std::optional<shmd::v1::Response> reply;
  if (conn.send(req)) reply = conn.receive();
  if (!reply || reply->has_error() || !reply->has_attach()) {
    say("attach", reply && reply->has_error() ? std::to_string(reply->error().code()) : "no reply");
    return 0;
  }
  const shm::UniqueFd fd = conn.take_fd();
  if (!fd) {
    say("attach", "no fd");
    return 0;
  }
  say("attach", "ok");
  const auto size = static_cast<std::size_t>(reply->attach().segment().mapping_bytes());
  const auto offset = static_cast<off_t>(reply->attach().segment().data_offset());
  std::array<std::byte, sizeof(double)> bytes{};
  std::memcpy(bytes.data(), &v, sizeof v);

  {
    RawMap m(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0), size);
    const int err = errno;
    say("mmap_shared_write", outcome(m.ok(), err));
    if (m.ok()) std::memcpy(m.bytes() + offset, bytes.data(), bytes.size());
  }
  RawMap ro(::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0), size);
  if (ro.ok()) {
    const std::string mprotect = attempt([&] { return ::mprotect(ro.p, size, PROT_READ | PROT_WRITE) == 0; });
    say("mprotect_write", mprotect);
    if (mprotect == "succeeded") std::memcpy(ro.bytes() + offset, bytes.data(), bytes.size());
    say("madvise_remove", attempt([&] { return ::madvise(ro.p, size, MADV_REMOVE) == 0; }));
  } else {
    const int err = errno;
    say("mmap_shared_read", outcome(false, err));
  }
  say("pwrite", attempt([&] { return ::pwrite(fd.get(), bytes.data(), bytes.size(), offset) >= 0; }));
  say("ftruncate", attempt([&] { return ::ftruncate(fd.get(), 0) == 0; }));
  say("fallocate", attempt([&] {
        return ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)) == 0;
      }));
  say("fchmod", attempt([&] { return ::fchmod(fd.get(), 0666) == 0; }));
  say("add_seals", attempt([&] { return ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE) == 0; }));
  {
    // The /proc magic link reopens the inode with a fresh permission check against the memfd's
    // own mode; if that succeeds the reopened fd is writable, so try to write through it.
    const std::string path = "/proc/self/fd/" + std::to_string(fd.get());
    shm::UniqueFd again(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    const int err = errno;
    say("reopen_rdwr", outcome(static_cast<bool>(again), err));
    if (again) (void)::pwrite(again.get(), bytes.data(), bytes.size(), offset);
  }
  {
    // A private copy may be written; the test checks that the shared value did not change.
    RawMap priv(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0), size);
    const int err = errno;
    if (priv.ok()) std::memcpy(priv.bytes() + offset, bytes.data(), bytes.size());
    say("private_copy_write", priv.ok() ? "private" : outcome(false, err));
  }
  if (ro.ok()) {
    double now = 0;
    std::memcpy(&now, ro.bytes() + offset, sizeof now);
    say("value", std::to_string(now));
  }
  return 0;
}

int connect_many(const std::string& socket, int n) {
  std::vector<RawConnection> held;
  for (int i = 0; i < n; ++i) {
    RawConnection& conn = held.emplace_back(socket);
    const std::string key = "conn" + std::to_string(i);
    if (!conn.connected()) {
      say(key, "connect-failed");
      continue;
    }
    shmd::v1::Request hello;
    hello.set_request_id(1);
    hello.mutable_hello()->set_protocol_version(1);
    (void)conn.send(hello);  // a refused connection may already be closed; its reply is still queued
    const auto reply = conn.receive();
    if (!reply) {
      say(key, "closed");
    } else if (reply->has_error()) {
      say(key, std::to_string(reply->error().code()));
    } else {
      say(key, "ok");
    }
  }
  return 0;
}

int run(const std::vector<std::string>& a) {
  if (a.size() < 3) return 2;
  const std::string& socket = a[0];
  const std::string& command = a[1];
  const std::string& name = a[2];
  if (command == "ro-attack" && a.size() == 4) return ro_attack(socket, name, std::stod(a[3]));
  if (command == "connect") return connect_many(socket, std::stoi(name));

  std::error_code ec;
  shm::Client client(socket, ec);
  if (ec) {
    say("connect", code(ec));
    return 0;
  }
  if (command == "read") {
    auto v = client.attach_value<const double>(name, ec);
    say("attach", code(ec));
    if (ec) return 0;
    say("value", std::to_string(v.load()));
    std::error_code lock_ec;
    auto guard = v.lock(lock_ec);
    say("lock", code(lock_ec));
  } else if (command == "attach-rw") {
    auto s = client.attach(name, shm::AccessMode::read_write, ec);
    say("attach", code(ec));
  } else if (command == "write" && a.size() == 4) {
    auto v = client.attach_value<double>(name, ec);
    if (!ec) v.store(std::stod(a[3]));
    say("write", code(ec));
  } else if (command == "info") {
    const auto info = client.info(name, ec);
    say("info", code(ec));
    if (!ec) say("pid", std::to_string(info.creator_pid));
  } else if (command == "list") {
    const auto all = client.list(ec);
    if (ec) {
      say("list", code(ec));
      return 0;
    }
    bool listed = false;
    for (const auto& s : all) {
      if (s.name != name) continue;
      listed = true;
      say("pid", std::to_string(s.creator_pid));
      say("created_ns", std::to_string(s.created.time_since_epoch().count()));
      say("uid", std::to_string(s.uid));
      say("mode", std::to_string(s.mode));
    }
    say("listed", listed ? "1" : "0");
  } else if (command == "remove") {
    client.remove(name, ec);
    say("remove", code(ec));
  } else if (command == "chmod" && a.size() == 4) {
    client.chmod(name, static_cast<std::uint32_t>(std::stoul(a[3], nullptr, 8)), ec);
    say("chmod", code(ec));
  } else if (command == "create-many" && a.size() == 5) {
    const int n = std::stoi(a[3]);
    for (int i = 0; i < n; ++i) {
      shm::CreateOptions options;
      options.mode = static_cast<std::uint32_t>(std::stoul(a[4], nullptr, 8));
      auto v = client.create_value<double>(name + std::to_string(i), 1.0, options, ec);
      say("create" + std::to_string(i), code(ec));
    }
  } else {
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int rc = run(std::vector<std::string>(argv + 1, argv + argc));
    if (rc == 2) std::cerr << "usage: access-probe SOCKET COMMAND ARG... (see access_probe.cpp)\n";
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "access-probe: " << e.what() << "\n";
    return 3;
  }
}
