// The client's side: libshmclient against a hostile or broken daemon. The fake daemon is a thread
// serving a temporary socket with the real RequestHandler, whose replies the input then bends.
// Whatever comes back, every call must return (an error is fine) without crashing, hanging, or
// leaking a descriptor.

#include "client_fuzz.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <google/protobuf/stubs/logging.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "shm/client.hpp"
#include "shm/unique_fd.hpp"
#include "shm/wire/fd_passing.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"
#include "shmd/registry.hpp"
#include "shmd/request_handler.hpp"

namespace {

namespace pb = shmd::v1;
using Clock = std::chrono::steady_clock;

/// Longer than any honest exchange here takes, even on a loaded machine; a call that waits this
/// long waited for a reply the fake daemon never sends, which it never does without closing.
constexpr std::chrono::milliseconds kReplyTimeout{5000};

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "shm_client_fuzz_one: invariant broken: %s\n", what);
  std::abort();
}

void silence_protobuf(google::protobuf::LogLevel, const char*, int, const std::string&) {}

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) broken("cannot list /proc/self/fd");
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

/// The daemon's half of the input, read from the front.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const noexcept { return pos_ == size_; }
  std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string bytes(std::size_t n) {
    n = std::min(n, size_ - pos_);
    std::string s(reinterpret_cast<const char*>(data_) + pos_, n);
    pos_ += n;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

/// One sendmsg of `bytes` with every descriptor in `fds` (more than the client takes, maybe).
void send_all(int sock, std::string_view bytes, const std::vector<int>& fds) {
  std::size_t done = 0;
  bool fds_sent = fds.empty();
  while (done < bytes.size() || !fds_sent) {
    iovec iov{const_cast<char*>(bytes.data()) + done, bytes.size() - done};
    char one = 0;
    if (bytes.size() == done) iov = {&one, 1};  // descriptors need a byte to ride on
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
    if (!fds_sent) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away: fine
    fds_sent = true;
    if (bytes.size() > done) done += static_cast<std::size_t>(n);
  }
}

/// A sealed memfd of `size` bytes, copied from `from` (as far as it goes), with byte `flip` (if
/// below size) inverted: a segment whose header or size disagrees with what the reply says.
shm::UniqueFd altered_memfd(int from, std::uint64_t size, std::uint64_t flip) {
  shm::UniqueFd fd(::memfd_create("fuzz-bent", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) broken("cannot make a memfd");
  std::array<char, 4096> buf{};
  const ssize_t n = from >= 0 ? ::pread(from, buf.data(), std::min<std::size_t>(buf.size(), size), 0) : 0;
  if (n > 0) {
    if (flip < static_cast<std::uint64_t>(n)) buf[flip] = static_cast<char>(~buf[flip]);
    if (::pwrite(fd.get(), buf.data(), static_cast<std::size_t>(n), 0) != n) broken("cannot fill a memfd");
  }
  ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  return fd;
}

/// Bends one field of `info` so that it disagrees with the memfd or with itself.
void bend(pb::SegmentInfo& info, std::uint8_t how) {
  switch (how % 10) {
    case 0: info.set_mapping_bytes(info.mapping_bytes() + 64); break;
    case 1: info.set_mapping_bytes(info.mapping_bytes() / 2); break;
    case 2: info.set_length(info.length() + 1); break;
    case 3: info.set_typecode("x"); break;
    case 4: info.set_data_offset(info.mapping_bytes()); break;
    case 5: info.set_element_size(0); break;
    case 6: info.set_kind(static_cast<pb::Kind>(7)); break;
    case 7: info.set_size_bytes(~std::uint64_t{0}); break;
    case 8: info.set_typecode(""); break;
    case 9: info.set_length(~std::uint64_t{0} / 2); break;
  }
}

pb::SegmentInfo* info_of(pb::Response& r) {
  switch (r.body_case()) {
    case pb::Response::kCreate: return r.mutable_create()->mutable_segment();
    case pb::Response::kAttach: return r.mutable_attach()->mutable_segment();
    case pb::Response::kInfo: return r.mutable_info()->mutable_segment();
    case pb::Response::kChmod: return r.mutable_chmod()->mutable_segment();
    case pb::Response::kReattach: return r.mutable_reattach()->mutable_segment();
    case pb::Response::kList: return r.list().segments_size() > 0 ? r.mutable_list()->mutable_segments(0) : nullptr;
    default: return nullptr;
  }
}

/// The fake daemon: serves connections on `listener` until the script runs out (then it closes
/// everything, so a reconnect fails at once) or `stop` becomes readable.
class FakeDaemon {
 public:
  FakeDaemon(shm::UniqueFd listener, int stop, Script script)
      : listener_(std::move(listener)), stop_(stop), script_(script), handler_(registry_, "fuzz") {}

  void run() {
    shm::UniqueFd conn;
    shm::wire::FrameDecoder decoder;
    while (listener_ || conn) {
      std::array<pollfd, 3> fds{
          {{stop_, POLLIN, 0}, {listener_.get(), POLLIN, 0}, {conn ? conn.get() : -1, POLLIN, 0}}};
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        broken("poll failed");
      }
      if (fds[0].revents != 0) return;
      if (listener_ && (fds[1].revents & POLLIN) != 0) {
        conn = shm::UniqueFd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        decoder = shm::wire::FrameDecoder();
        ++client_;
        continue;
      }
      if (!conn || fds[2].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n <= 0) {
        registry_.drop_client(client_);
        conn.reset();
        continue;
      }
      decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      std::string payload;
      while (conn && decoder.next(payload)) {
        pb::Request request;
        if (!request.ParseFromString(payload)) broken("libshmclient sent a frame that is not a Request");
        if (!answer(conn, request)) {
          registry_.drop_client(client_);
          conn.reset();
        }
      }
      if (decoder.error() != shm::wire::FrameError::none) broken("libshmclient sent a broken frame");
    }
  }

 private:
  /// Answers one request as the script says; false to close the connection.
  bool answer(const shm::UniqueFd& conn, const pb::Request& request) {
    if (script_.empty()) {
      listener_.reset();  // out of script: nobody is served any more
      return false;
    }
    const std::uint8_t a = script_.byte();
    const std::uint8_t b = script_.byte();
    shmd::RequestContext ctx;
    ctx.client = client_;
    ctx.credentials = {::geteuid(), ::getegid(), ::getpid(), {}};
    shmd::Reply reply = handler_.handle(ctx, request);
    pb::Response& r = reply.response;
    switch (a & 7) {
      case 0:
      case 1:
      case 2: break;                                                                   // honest
      case 3: r.mutable_error()->set_code(static_cast<pb::ErrorCode>(b % 12)); break;  // error and body
      case 4:
        if (pb::SegmentInfo* info = info_of(r))
          bend(*info, b);
        else
          r.clear_body();
        break;
      case 5: {  // another body than asked for
        pb::Response other;
        other.set_request_id(r.request_id());
        switch (b % 4) {
          case 0: other.mutable_hello()->set_protocol_version(1); break;
          case 1:
            if (pb::SegmentInfo* info = info_of(r)) *other.mutable_attach()->mutable_segment() = *info;
            break;
          case 2:
            if (pb::SegmentInfo* info = info_of(r)) *other.mutable_create()->mutable_segment() = *info;
            break;
          case 3: other.mutable_detach()->set_refcount(3); break;
        }
        r = other;
        break;
      }
      case 6: {  // raw bytes as the payload of one frame
        std::string frame;
        shm::wire::append_frame(frame, script_.bytes(b));
        send_all(conn.get(), frame, {});
        return true;
      }
      case 7: send_all(conn.get(), script_.bytes(b), {}); return false;  // raw bytes, then close
    }
    switch ((a >> 3) & 3) {
      case 2: r.set_request_id(r.request_id() + 1); break;
      case 3: r.set_request_id(0); break;
      default: break;
    }
    if (reply.no_reply && (a & 7) < 3) return true;  // a quiet Detach, answered as asked: nothing
    const bool subscribed = reply.subscriber != nullptr;
    std::vector<shm::UniqueFd> own;
    std::vector<int> fds;
    const int honest = reply.fd_to_send();
    switch (a >> 5) {
      case 0:
      case 1:
        if (honest >= 0) fds.push_back(honest);
        break;
      case 2: break;  // no fd, whatever the reply says
      case 3:         // the fd and more: as many as the client takes in one message, and past that
        for (unsigned i = 0; i < 1u + b % 6; ++i) own.push_back(altered_memfd(honest, 128, 1000));
        if (honest >= 0) fds.push_back(honest);
        for (const auto& fd : own) fds.push_back(fd.get());
        break;
      case 4:
        own.push_back(altered_memfd(honest, b % 3 == 0 ? 0 : 64 * (b % 5), 1000));
        fds.push_back(own.back().get());
        break;
      case 5: {  // not a memfd at all
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) broken("pipe2");
        own.emplace_back(p[0]);
        own.emplace_back(p[1]);
        fds.push_back(p[b & 1]);
        break;
      }
      case 6: {  // the right size, a header byte flipped
        if (honest < 0) break;
        struct stat st {};
        ::fstat(honest, &st);
        own.push_back(altered_memfd(honest, static_cast<std::uint64_t>(st.st_size), b % 128));
        fds.push_back(own.back().get());
        break;
      }
      case 7: {  // writable reply fd, but opened read-only
        if (honest < 0) break;
        own.emplace_back(::open(("/proc/self/fd/" + std::to_string(honest)).c_str(), O_RDONLY | O_CLOEXEC));
        if (own.back()) fds.push_back(own.back().get());
        break;
      }
    }
    std::string frame;
    shm::wire::append_frame(frame, r.SerializeAsString());
    if ((b & 0x80) != 0 && frame.size() > 1) {  // in two writes, the fd with the first
      send_all(conn.get(), std::string_view(frame).substr(0, frame.size() / 2), fds);
      send_all(conn.get(), std::string_view(frame).substr(frame.size() / 2), {});
    } else {
      send_all(conn.get(), frame, fds);
    }
    if (subscribed) send_events(conn, r.request_id(), b % 6);
    return true;
  }

  /// After a Subscribe's reply: `count` event frames as the script has them, honest or not: any
  /// kind number (unknown ones too), with or without a segment, a bent one, another request id.
  void send_events(const shm::UniqueFd& conn, std::uint64_t request_id, unsigned count) {
    for (unsigned i = 0; i < count && !script_.empty(); ++i) {
      const std::uint8_t kind = script_.byte();
      const std::uint8_t how = script_.byte();
      pb::Response r;
      r.set_request_id((how & 4) != 0 ? request_id + 1 : request_id);
      pb::Event* e = r.mutable_event();
      e->set_kind(static_cast<pb::EventKind>(kind % 9));
      if ((how & 1) != 0) {
        pb::SegmentInfo* info = e->mutable_segment();
        info->set_id(1 + kind);
        info->set_name("s0");
        info->set_typecode("d");
        info->set_kind(pb::VALUE);
        info->set_length(1);
        if ((how & 2) != 0) bend(*info, kind);
      }
      if ((how & 8) != 0) e->set_missed(~std::uint64_t{0});
      std::string frame;
      shm::wire::append_frame(frame, r.SerializeAsString());
      if ((how & 0x10) != 0) frame.resize(frame.size() / 2);  // part of a frame; the rest never comes
      send_all(conn.get(), frame, {});
    }
  }

  shm::UniqueFd listener_;
  int stop_;
  Script script_;
  shmd::Registry registry_{[] {
    shmd::Limits l;
    l.max_segment_bytes = 4096;
    l.max_total_bytes = 64 * 1024;
    l.max_segments = 16;
    return l;
  }()};
  shmd::RequestHandler handler_;
  shmd::ClientId client_ = 0;
};

/// Reads every mapped byte (a mapping larger than its memfd would SIGBUS here) and, if the segment
/// is writable, tries its lock. Only tries: a daemon can hand out a mutex that looks held by a
/// live thread (that is what a lock held by another process looks like), and lock() then waits
/// for it, as it should.
void touch(shm::Segment& s) {
  if (!s) return;
  volatile std::uint8_t sum = 0;
  for (const std::byte b : s.bytes()) sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(b));
  std::error_code ec;
  if (!s.read_only()) {
    auto guard = s.try_lock(ec);
    if (!ec && !s.bytes().empty()) s.bytes()[0] = std::byte{1};
  }
}

/// The client's half of the input: what libshmclient is asked to do.
void drive(const std::string& path, const std::uint8_t* ops, std::size_t count) {
  std::error_code ec;
  shm::Client client(path, ec);
  client.set_reply_timeout(kReplyTimeout);
  std::vector<shm::Segment> held;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t op = ops[i];
    const std::string name = "s" + std::to_string(op >> 6);
    shm::SegmentSpec spec;
    spec.typecode = "dibQ"[(op >> 4) & 3];
    spec.kind = (op & 0x10) != 0 ? shm::Kind::array : shm::Kind::value;
    spec.length = spec.kind == shm::Kind::array ? 1 + (op >> 5) : 1;
    const auto start = Clock::now();
    switch (op % 10) {
      case 0:
      case 1: held.push_back(client.create(name, spec, ec)); break;
      case 2: held.push_back(client.attach(name, shm::AccessMode::read_write, ec)); break;
      case 3: held.push_back(client.attach(name, shm::AccessMode::read_only, ec)); break;
      case 4: (void)client.info(name, ec); break;
      case 5:
        if ((op & 0x40) == 0) {
          (void)client.list(ec);
          break;
        }
        {
          // Each next() must return within its own timeout, whatever the frames (client: next()).
          shm::Subscription sub = client.subscribe({.prefix = "s", .attachments = (op & 0x80) != 0}, ec);
          for (int k = 0; k < 4 && sub.valid(); ++k) (void)sub.next(std::chrono::milliseconds(k == 0 ? 20 : 0), ec);
        }
        break;
      case 6: client.remove(name, ec); break;
      case 7: (void)client.chmod(name, 0644, ec); break;
      case 8: (void)client.create_detached(name, spec, ec); break;
      case 9:
        if (!held.empty()) {
          held.back().detach(ec);
          held.pop_back();
        }
        break;
    }
    if (!held.empty()) touch(held.back());
    if (Clock::now() - start >= kReplyTimeout) broken("a call waited out its reply timeout");
  }
  // Dropping the rest sends quiet Detaches, which the script may answer all the same.
}

}  // namespace

int shm_client_fuzz_one(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (google::protobuf::SetLogHandler(&silence_protobuf), true);
  (void)quiet;
  static unsigned counter = 0;
  if (size < 1) return 0;
  const std::size_t count = std::min<std::size_t>(data[0] % 16, size - 1);
  const std::uint8_t* ops = data + 1;
  const Script script(data + 1 + count, size - 1 - count);

  const std::size_t fds_before = open_fds();
  const std::string path = "/tmp/shm-client-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    shm::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    if (!listener || ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener.get(), 8) != 0)
      broken("cannot listen on the fake daemon's socket");
    int stop[2];
    if (::pipe2(stop, O_CLOEXEC) != 0) broken("pipe2");
    shm::UniqueFd stop_read(stop[0]);
    shm::UniqueFd stop_write(stop[1]);
    FakeDaemon daemon(std::move(listener), stop_read.get(), script);
    std::thread server([&daemon] { daemon.run(); });
    drive(path, ops, count);
    stop_write.reset();  // POLLHUP on the read end: the fake daemon returns
    server.join();
    ::unlink(path.c_str());
  }
  if (open_fds() != fds_before) broken("a descriptor is left open after the client and its segments are gone");
  return 0;
}
