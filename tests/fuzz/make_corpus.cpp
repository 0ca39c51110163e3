// shm-fuzz-corpus: writes the generated seeds of the fuzz targets. Rerun it after changing the
// protocol; the files are committed.
//   dispatch (tests/fuzz/corpus/): each file is one connection's byte stream: valid requests of
//     every type and flag, alone and in sequences, and the malformed frames and field values a
//     hostile client would send.
//   frame (corpus-frame/): the dispatch streams again, behind the frame target's two control bytes.
//   client (corpus-client/): client operations and a fake daemon's script, honest and bent.
//   journal (corpus-journal/): restart journals, sound, torn and lying.
//
//   shm-fuzz-corpus DIR                  the dispatch seeds
//   shm-fuzz-corpus --target NAME DIR    the seeds of target NAME (frame, client, journal)

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "requests.hpp"
#include "shm/wire/framing.hpp"
#include "shmd.pb.h"
#include "shmd_journal.pb.h"

namespace {

namespace pb = shmd::v1;

/// Request ids choose who asks in the fuzz body: id % 4 is 0 owner, 1 group, 2 other, 3 root.
enum Who : std::uint64_t { kOwner = 0, kGroup = 1, kOther = 2, kRoot = 3 };

/// One connection's byte stream under construction.
class Stream {
 public:
  Stream& add(const pb::Request& r) {
    shm::wire::append_frame(bytes_, r.SerializeAsString());
    return *this;
  }
  Stream& raw(std::string_view b) {
    bytes_.append(b);
    return *this;
  }
  Stream& frame(std::string_view payload) {
    shm::wire::append_frame(bytes_, payload);
    return *this;
  }
  [[nodiscard]] const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

std::uint64_t next_id(Who who) {
  static std::uint64_t n = 0;
  return (++n) * 4 + who;
}

/// `r` asked by `who` (tests/support/requests.hpp builds the body).
pb::Request as(pb::Request r, Who who) {
  r.set_request_id(next_id(who));
  return r;
}

pb::Request hello(std::uint32_t version = 1) { return as(shm::test::hello_request(version, "corpus"), kOwner); }

pb::Request subscribe(const std::string& prefix, bool attachments, Who who = kOwner) {
  pb::Request r;
  r.mutable_subscribe()->set_prefix(prefix);
  r.mutable_subscribe()->set_attachments(attachments);
  return as(std::move(r), who);
}

pb::Request create(const std::string& name, const std::string& typecode, pb::Kind kind, std::uint64_t length,
                   Who who = kOwner, std::uint32_t mode = 0, std::string initial = {}, bool ephemeral = false,
                   bool open_existing = false, bool no_attach = false) {
  pb::Request r = as(shm::test::create_request(name, typecode, kind, length, mode, std::move(initial)), who);
  r.mutable_create()->set_ephemeral(ephemeral);
  r.mutable_create()->set_open_existing(open_existing);
  r.mutable_create()->set_no_attach(no_attach);
  return r;
}

pb::Request attach(const std::string& name, Who who = kOwner, bool read_only = false) {
  return as(shm::test::attach_request(name, read_only), who);
}

pb::Request detach(std::uint64_t id, Who who = kOwner, bool no_reply = false) {
  return as(shm::test::detach_request(id, no_reply), who);
}

pb::Request remove_req(const std::string& name, Who who = kOwner) { return as(shm::test::remove_request(name), who); }

pb::Request info(const std::string& name, Who who = kOwner) { return as(shm::test::info_request(name), who); }

pb::Request list(const std::string& after_name = {}, std::uint64_t after_id = 0, std::uint32_t limit = 0,
                 Who who = kOwner) {
  return as(shm::test::list_request(after_name, after_id, limit), who);
}

pb::Request chmod_req(const std::string& name, std::uint32_t mode, Who who = kOwner) {
  return as(shm::test::chmod_request(name, mode), who);
}

pb::Request reattach(std::uint64_t id, std::uint32_t references, Who who = kOwner) {
  return as(shm::test::reattach_request(id, references), who);
}

pb::Request hold(std::uint64_t id, std::uint32_t seconds = 0, Who who = kOwner, bool from_close = false) {
  return as(shm::test::hold_request(id, seconds, from_close), who);
}

/// An attach that claims a hold; the fuzz body reads claim N (1, 2, ...) as the Nth token issued.
pb::Request claim(const std::string& name, std::uint64_t token, Who who = kOwner, bool read_only = false) {
  pb::Request r = attach(name, who, read_only);
  r.mutable_attach()->set_claim(token);
  return r;
}

using shm::test::varint;

std::string le64(double d) {
  std::string s(sizeof d, '\0');
  __builtin_memcpy(s.data(), &d, sizeof d);
  return s;
}

using Files = std::vector<std::pair<std::string, Stream>>;

int write_files(const std::filesystem::path& dir, const Files& files) {
  for (const auto& [name, stream] : files) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(stream.bytes().data(), static_cast<std::streamsize>(stream.bytes().size()));
    if (!out) {
      std::fprintf(stderr, "shm-fuzz-corpus: cannot write %s\n", (dir / name).c_str());
      return 1;
    }
  }
  std::printf("wrote %zu files to %s\n", files.size(), dir.c_str());
  return 0;
}

/// The client target: byte 0 counts the operation bytes that follow; the rest is the fake
/// daemon's script, two bytes (action, argument) per request, Hello first.
void client_seeds(Files& files) {
  // Operation bytes (see client_fuzz.cpp): op % 10 picks the call, bit 4 an Array, bits 4-5 the
  // typecode, bits 6-7 the name.
  const std::string every_call = {0, 2, 3, 4, 5, 7, 8, 9, 6, 1, 0x11, 3, 9, 9};
  auto seed = [&](const std::string& name, const std::string& ops, const std::string& script) {
    std::string bytes(1, static_cast<char>(ops.size()));
    bytes += ops;
    bytes += script;
    files.emplace_back(name, Stream().raw(bytes));
  };
  seed("client-honest-every-call", every_call, std::string(2 * 20, '\0'));
  seed("client-no-daemon-script", every_call, "");
  // Hello answered honestly, then the first real request bent, for every action and fd mode.
  const char* const shapes[] = {"honest",    "honest",     "honest",    "error-and-body",
                                "bent-info", "other-body", "raw-frame", "raw-close"};
  const char* const fds[] = {"fd",          "fd", "no-fd", "extra-fds", "wrong-size-fd", "pipe-fd", "flipped-header-fd",
                             "read-only-fd"};
  const char* const ids[] = {"", "", "-id-plus-one", "-id-zero"};
  for (unsigned shape = 3; shape < 8; ++shape)
    for (const int b : {0, 1, 4, 9, 0x85})
      seed(std::string("client-create-") + shapes[shape] + "-" + std::to_string(b), std::string{0, 2, 4},
           std::string{0, 0, static_cast<char>(shape), static_cast<char>(b)} + std::string(8, '\0') + "\x08\x0a\x02xx");
  for (unsigned fd = 2; fd < 8; ++fd)
    for (const int op : {0, 2, 3, 0x11}) {
      seed(std::string("client-") + fds[fd] + "-op" + std::to_string(op),
           std::string{static_cast<char>(op), 9, static_cast<char>(op)},
           std::string{0, 0, static_cast<char>(fd << 5), 3, 0, 0, static_cast<char>(fd << 5), static_cast<char>(0x83)} +
               std::string(8, '\0'));
    }
  for (unsigned id = 2; id < 4; ++id) {
    seed(std::string("client-hello") + ids[id], std::string{4},
         std::string{static_cast<char>(id << 3), 0} + std::string(6, '\0'));
    seed(std::string("client-create") + ids[id], std::string{0, 4},
         std::string{0, 0, static_cast<char>(id << 3), 0} + std::string(6, '\0'));
  }
  // A reply to a quiet Detach that asked for none, read as the answer to the next request.
  seed("client-answers-quiet-detach", std::string{0, 2, 9, 4, 5},
       std::string{0, 0, 0, 0, 0, 0, 3, 2} + std::string(8, '\0'));
  // The connection closes mid-way: the client reconnects and re-registers what it holds.
  seed("client-reconnect-reattach", std::string{0, 2, 4, 5, 4},
       std::string{0, 0, 0, 0, 0, 0, 6, 0} + std::string(12, '\0'));
  // Found by this target: a Create answered with a 0-byte memfd failed its size check, and the
  // client then read the lock word of that mapping to detach it: SIGBUS.
  seed("regression-client-short-memfd-sigbus", std::string{0}, std::string{0, 0, static_cast<char>(4 << 5), 3});
  seed("client-list-bent", std::string{0, 1, 5}, std::string{0, 0, 0, 0, 0, 0, 4, 0} + std::string(4, '\0'));
  // Subscribe (op 65; 195 with attachments) on a connection of its own: its Hello, the reply, then
  // event frames of every kind number, honest, without a segment, bent, with another request id,
  // and a frame cut in half.
  seed("client-subscribe-honest-events", std::string{65},
       std::string{0, 0, 0, 0, 0, 5} + std::string{1, 1, 2, 1, 3, 1, 7, 0, 4, 1});
  seed("client-subscribe-hostile-events", std::string{static_cast<char>(195)},
       std::string{0, 0, 0, 0, 0, 5} + std::string{8, 1, 1, 3, 7, 9, 1, 0, 1, 5});
  seed("client-subscribe-wrong-request-id", std::string{65}, std::string{0, 0, 0, 0, 0, 2} + std::string{5, 5, 6, 1});
  seed("client-subscribe-partial-frame", std::string{65, 65},
       std::string{0, 0, 0, 0, 0, 2} + std::string{1, 0x11, 2, 1} + std::string(6, '\0'));
  seed("client-subscribe-refused", std::string{65}, std::string{0, 0, 0, 0, 3, 4});
}

namespace jv1 = shmd::journal::v1;

jv1::SegmentMeta meta(std::uint64_t id, const std::string& name, char typecode = 'd', std::uint32_t kind = 1,
                      std::uint64_t length = 1, std::uint32_t mode = 0600, std::uint32_t references = 0) {
  jv1::SegmentMeta m;
  m.set_id(id);
  m.set_name(name);
  m.set_typecode(static_cast<std::uint32_t>(typecode));
  m.set_kind(kind);
  m.set_length(length);
  m.set_uid(1000);
  m.set_gid(1000);
  m.set_creator_pid(42);
  m.set_mode(mode);
  m.set_layout_version(2);
  m.set_references(references);
  return m;
}

/// The journal target: byte 0 picks which segment memfds come back wrong; then the journal.
void journal_seeds(Files& files) {
  auto record = [](auto fill) {
    jv1::JournalRecord r;
    fill(r);
    std::string frame;
    shm::wire::append_frame(frame, r.SerializeAsString());
    return frame;
  };
  auto header = [&](std::uint64_t g) { return record([g](jv1::JournalRecord& r) { r.set_generation(g); }); };
  auto created = [&](const jv1::SegmentMeta& m) {
    return record([&m](jv1::JournalRecord& r) { *r.mutable_created() = m; });
  };
  auto updated = [&](const jv1::SegmentMeta& m) {
    return record([&m](jv1::JournalRecord& r) { *r.mutable_updated() = m; });
  };
  auto removed = [&](std::uint64_t id) { return record([id](jv1::JournalRecord& r) { r.set_removed(id); }); };
  auto freed = [&](std::uint64_t id) { return record([id](jv1::JournalRecord& r) { r.set_freed(id); }); };
  auto refs = [&](std::uint64_t id, std::uint32_t n) {
    return record([id, n](jv1::JournalRecord& r) {
      r.mutable_references()->set_id(id);
      r.mutable_references()->set_count(n);
    });
  };
  auto seed = [&](const std::string& name, std::uint8_t wrong, const std::string& journal) {
    files.emplace_back(name, Stream().raw(std::string(1, static_cast<char>(wrong)) + journal));
  };
  const std::string sound = header(3) + created(meta(1, "alpha")) + created(meta(2, "beta", 'i', 2, 16, 0644, 2)) +
                            created(meta(5, "gamma", 'u', 2, 3)) + updated(meta(1, "alpha", 'd', 1, 1, 0640)) +
                            removed(2) + refs(2, 1) + created(meta(7, "delta", 'c', 2, 100)) + freed(7);
  seed("journal-sound", 0, sound);
  seed("journal-sound-unsealed-memfds", 0x55, sound);
  seed("journal-sound-wrong-size-memfds", 0xaa, sound);
  seed("journal-torn-tail", 0, sound.substr(0, sound.size() - 3));
  seed("journal-no-header", 0, created(meta(1, "alpha")));
  seed("journal-empty", 0, "");
  seed("journal-garbage", 0, "\xff\xff\xff\x01\x02");
  // Fields no daemon writes: each must be refused, not trusted.
  seed("journal-bad-names", 0,
       header(1) + created(meta(1, "../etc/passwd")) + created(meta(2, "")) + created(meta(3, std::string(300, 'n'))) +
           created(meta(4, std::string("a\0b", 3))));
  seed("journal-bad-modes", 0,
       header(1) + created(meta(1, "m1", 'd', 1, 1, 07777)) + created(meta(2, "m2", 'd', 1, 1, 0xffffffffu)));
  seed("journal-bad-ids", 0,
       header(1) + created(meta(0, "zero")) + created(meta(~std::uint64_t{0}, "max")) +
           created(meta(~std::uint64_t{0} - 1, "almost")));
  // Found by this target: a journal id of 2^64-2 was restored, so the next create got 2^64-1
  // and the one after that id 0, which collides with "no segment".
  seed("regression-journal-id-near-2-64", 0, header(1) + created(meta(~std::uint64_t{0} - 1, "almost")));
  seed("journal-bad-shapes", 0,
       header(1) + created(meta(1, "t", 'x')) + created(meta(2, "k", 'd', 9)) + created(meta(3, "v", 'd', 1, 5)) +
           created(meta(4, "a0", 'd', 2, 0)) + created(meta(5, "huge", 'd', 2, std::uint64_t{1} << 61)) +
           created(meta(6, "hi", static_cast<char>(-28))));
  seed("journal-duplicate-names", 0,
       header(1) + created(meta(1, "same")) + created(meta(2, "same")) + removed(1) + created(meta(3, "same")));
  seed("journal-references-max", 0,
       header(1) + created(meta(1, "r", 'd', 1, 1, 0600, 0xffffffffu)) + refs(1, 0xfffffffeu));
  seed(
      "journal-ephemeral-unreferenced", 0, header(1) + [&] {
        auto m = meta(1, "e");
        m.set_ephemeral(true);
        return created(m);
      }());
  seed(
      "journal-old-layout", 0, header(1) + [&] {
        auto m = meta(1, "old");
        m.set_layout_version(1);
        return created(m);
      }());
  seed("journal-generation-record-later", 0, header(2) + header(9) + created(meta(1, "g")));
}

}  // namespace

int main(int argc, char** argv) {
  std::string target = "dispatch";
  if (argc == 4 && std::string_view(argv[1]) == "--target") {
    target = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc != 2 || (target != "dispatch" && target != "frame" && target != "client" && target != "journal")) {
    std::fprintf(stderr, "usage: shm-fuzz-corpus [--target frame|client|journal] DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  std::vector<std::pair<std::string, Stream>> files;
  if (target == "client") client_seeds(files);
  if (target == "journal") journal_seeds(files);
  if (target == "client" || target == "journal") return write_files(dir, files);
  auto emit = [&](std::string name, Stream s) { files.emplace_back(std::move(name), std::move(s)); };
  constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
  constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();

  // Valid requests of every type, alone and in the order a client sends them.
  emit("valid-hello", Stream().add(hello()));
  emit("valid-hello-wrong-version", Stream().add(hello(2)));
  emit("valid-create-value-double", Stream().add(create("total", "d", pb::VALUE, 1, kOwner, 0, le64(2.5))));
  emit("valid-create-array-int", Stream().add(create("squares", "i", pb::ARRAY, 10)));
  emit("valid-create-every-typecode", [] {
    Stream s;
    for (const char* t : {"c", "b", "B", "u", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d"})
      s.add(create(std::string("t") + t, t, pb::ARRAY, 3));
    return s;
  }());
  emit(
      "valid-create-attach-detach-remove",
      Stream().add(create("v", "d", pb::VALUE, 1)).add(attach("v")).add(detach(1)).add(detach(1)).add(remove_req("v")));
  emit("valid-attach-read-only-by-others", Stream()
                                               .add(create("shared", "q", pb::VALUE, 1, kOwner, 0644))
                                               .add(attach("shared", kOther, true))
                                               .add(attach("shared", kOther, false))
                                               .add(attach("shared", kGroup, true))
                                               .add(info("shared", kOther)));
  emit("valid-private-segment-seen-by-strangers", Stream()
                                                      .add(create("secret", "i", pb::VALUE, 1, kOwner, 0600))
                                                      .add(list({}, 0, 0, kOther))
                                                      .add(info("secret", kOther))
                                                      .add(attach("secret", kOther, true))
                                                      .add(remove_req("secret", kOther))
                                                      .add(chmod_req("secret", 0666, kOther))
                                                      .add(remove_req("secret", kRoot)));
  emit("valid-chmod-then-attach", Stream()
                                      .add(create("m", "f", pb::VALUE, 1, kOwner, 0600))
                                      .add(attach("m", kOther))
                                      .add(chmod_req("m", 0666))
                                      .add(attach("m", kOther))
                                      .add(chmod_req("m", 0400, kRoot))
                                      .add(attach("m", kOwner)));
  emit("valid-remove-while-attached", Stream()
                                          .add(create("r", "b", pb::ARRAY, 16))
                                          .add(attach("r", kRoot))
                                          .add(remove_req("r"))
                                          .add(list())
                                          .add(create("r", "b", pb::ARRAY, 16))
                                          .add(detach(1))
                                          .add(list()));
  emit("valid-ephemeral",
       Stream().add(create("e", "H", pb::VALUE, 1, kOwner, 0, {}, true)).add(detach(1)).add(info("e")));
  emit("valid-open-existing", Stream()
                                  .add(create("o", "l", pb::ARRAY, 4))
                                  .add(create("o", "l", pb::ARRAY, 4, kOwner, 0, {}, false, true))
                                  .add(create("o", "l", pb::ARRAY, 5, kOwner, 0, {}, false, true))
                                  .add(create("o", "d", pb::ARRAY, 4, kOther, 0, {}, false, true))
                                  .add(create("o", "l", pb::ARRAY, 4)));
  emit("valid-list-paging", [] {
    Stream s;
    for (int i = 0; i < 6; ++i) s.add(create("p" + std::to_string(i), "B", pb::VALUE, 1));
    s.add(list({}, 0, 2)).add(list("p1", 2, 2)).add(list("p3", 4, 0)).add(list("zzz", u64max, 1));
    return s;
  }());
  // The false report of issue 20: a no_attach Create answers `create` with no fd, by design.
  emit("regression-create-no-attach", Stream()
                                          .add(create("na", "i", pb::ARRAY, 4, kOwner, 0, {}, false, false, true))
                                          .add(info("na"))
                                          .add(attach("na"))
                                          .add(detach(1))
                                          .add(list()));
  emit("valid-create-no-attach-open-existing",
       Stream()
           .add(create("nb", "d", pb::VALUE, 1))
           .add(create("nb", "d", pb::VALUE, 1, kOwner, 0, {}, false, true, true))
           .add(create("nb", "d", pb::VALUE, 1, kGroup, 0, {}, false, true, true))
           .add(create("nb", "f", pb::VALUE, 1, kOwner, 0, {}, false, true, true))
           .add(create("nc", "d", pb::VALUE, 1, kOwner, 0, le64(1.5), false, true, true)));
  emit("field-create-no-attach-ephemeral",
       Stream().add(create("ne", "i", pb::VALUE, 1, kOwner, 0, {}, true, false, true)));
  emit("valid-create-no-attach-quota", [] {
    Stream s;
    for (int i = 0; i < 10; ++i)
      s.add(create("nq" + std::to_string(i), "d", pb::VALUE, 1, kGroup, 0, {}, false, false, true));
    return s;
  }());
  emit("valid-detach-no-reply", Stream()
                                    .add(create("dq", "h", pb::VALUE, 1))
                                    .add(detach(1, kOwner, true))
                                    .add(detach(1, kOwner, true))
                                    .add(detach(u64max, kOther, true))
                                    .add(detach(1)));
  emit("valid-attach-read-only-writer-too", Stream()
                                                .add(create("rw", "I", pb::ARRAY, 8, kOwner, 0640))
                                                .add(attach("rw", kOwner, true))
                                                .add(attach("rw", kGroup, true))
                                                .add(attach("rw", kGroup, false))
                                                .add(attach("rw", kRoot, true))
                                                .add(remove_req("rw"))
                                                .add(attach("rw", kOwner, true)));
  emit("valid-create-typecode-u", Stream()
                                      .add(create("wc", "u", pb::ARRAY, 3))
                                      .add(create("wv", "u", pb::VALUE, 1, kOwner, 0, std::string("A\0\0\0", 4))));
  emit("valid-ephemeral-open-existing", Stream()
                                            .add(create("eo", "q", pb::VALUE, 1, kOwner, 0, {}, true))
                                            .add(create("eo", "q", pb::VALUE, 1, kOwner, 0, {}, false, true))
                                            .add(detach(1))
                                            .add(detach(1))
                                            .add(info("eo")));
  emit("valid-hello-then-everything", Stream()
                                          .add(hello())
                                          .add(create("all", "c", pb::ARRAY, 2))
                                          .add(attach("all", kOwner, true))
                                          .add(info("all"))
                                          .add(chmod_req("all", 0644))
                                          .add(list())
                                          .add(reattach(1, 1))
                                          .add(detach(1, kOwner, true))
                                          .add(detach(1))
                                          .add(remove_req("all"))
                                          .add(hello(0)));
  emit("valid-info-missing", Stream().add(info("nothing-here")));
  emit("valid-reattach",
       Stream().add(create("ra", "Q", pb::VALUE, 1)).add(reattach(1, 3)).add(detach(1)).add(reattach(99, 1)));
  emit("valid-per-uid-quota", [] {
    Stream s;
    for (int i = 0; i < 10; ++i) s.add(create("q" + std::to_string(i), "d", pb::VALUE, 1, kGroup));
    for (int i = 0; i < 3; ++i) s.add(create("root" + std::to_string(i), "d", pb::VALUE, 1, kRoot));
    return s;
  }());
  emit("valid-total-bytes-limit", [] {
    Stream s;
    for (int i = 0; i < 20; ++i) s.add(create("big" + std::to_string(i), "d", pb::ARRAY, 512, kRoot));
    return s;
  }());
  // Broken frames.
  emit("frame-varint-too-long", Stream().raw(std::string(11, '\x80')).raw("\x01"));
  emit("frame-varint-ten-bytes-max-length", Stream().raw(varint(u64max)).raw("xyz"));
  emit("frame-length-over-64k", Stream().raw(varint(shm::wire::kMaxFrameBytes + 1)).raw(std::string(16, 'a')));
  emit("frame-length-2-to-the-63", Stream().raw(varint(std::uint64_t{1} << 63)));
  emit("frame-truncated-payload", Stream().raw(varint(100)).raw(hello().SerializeAsString()));
  emit("frame-truncated-varint", Stream().raw("\xff\xff"));
  emit("frame-valid-then-truncated",
       Stream().add(hello()).add(create("t", "i", pb::VALUE, 1)).raw(varint(40)).raw("\x08"));
  emit("frame-empty-payload", Stream().frame(""));
  emit("frame-valid-then-oversized", Stream().add(hello()).raw(varint(1u << 20)));

  // Payloads that are not Requests, or Requests without a known body.
  emit("proto-garbage", Stream().frame("\xff\xff\xff\xff\xff\xff\xff"));
  emit("proto-truncated-field", Stream().frame("\x5a\x10\x0a"));
  emit("proto-wrong-wire-type", Stream().frame("\x08\x02\x05\x00"));                         // request_id, then field 0
  emit("proto-unknown-oneof-case", Stream().frame(std::string("\x08\x07\xa2\x06\x00", 5)));  // field 100, empty
  emit("proto-invalid-utf8-name", Stream().frame(std::string("\x72\x04\x0a\x02\xc3\x28", 6)));  // info{name: C3 28}
  emit("proto-body-not-set", Stream().add(pb::Request()));

  // Well-formed Requests with hostile field values.
  emit("field-typecode-unknown", Stream().add(create("x", "x", pb::VALUE, 1)));
  emit("field-typecode-empty", Stream().add(create("x", "", pb::VALUE, 1)));
  emit("field-typecode-multi-char", Stream().add(create("x", "id", pb::VALUE, 1)));
  emit("field-typecode-nul", Stream().add(create("x", std::string(1, '\0'), pb::VALUE, 1)));
  emit("field-kind-unspecified", Stream().add(create("x", "i", pb::KIND_UNSPECIFIED, 1)));
  emit("field-kind-out-of-range", Stream().add(create("x", "i", static_cast<pb::Kind>(77), 1)));
  emit("field-value-length-2", Stream().add(create("x", "i", pb::VALUE, 2)));
  emit("field-array-length-0", Stream().add(create("x", "i", pb::ARRAY, 0)));
  emit("field-array-length-overflows", Stream().add(create("x", "d", pb::ARRAY, std::uint64_t{1} << 61)));
  emit("field-array-length-max", Stream().add(create("x", "d", pb::ARRAY, u64max)));
  emit("field-array-over-segment-limit", Stream().add(create("x", "d", pb::ARRAY, 100000)));
  emit("field-name-slash", Stream().add(create("a/b", "i", pb::VALUE, 1)).add(attach("../etc/passwd")));
  emit("field-name-nul",
       Stream().add(create(std::string("a\0b", 3), "i", pb::VALUE, 1)).add(info(std::string(1, '\0'))));
  emit("field-name-300-chars",
       Stream().add(create(std::string(300, 'n'), "i", pb::VALUE, 1)).add(remove_req(std::string(300, 'n'))));
  emit("field-name-empty", Stream().add(create("", "i", pb::VALUE, 1)).add(attach("")));
  emit("field-mode-over-0777",
       Stream().add(create("x", "i", pb::VALUE, 1, kOwner, 01777)).add(create("y", "i", pb::VALUE, 1, kOwner, u32max)));
  emit("field-chmod-over-0777",
       Stream().add(create("c", "i", pb::VALUE, 1)).add(chmod_req("c", 04755)).add(chmod_req("c", u32max)));
  emit("field-initial-wrong-size", Stream()
                                       .add(create("x", "d", pb::VALUE, 1, kOwner, 0, "abc"))
                                       .add(create("y", "i", pb::ARRAY, 2, kOwner, 0, std::string(9, 'z'))));
  emit("field-detach-huge-id", Stream().add(detach(u64max)).add(detach(0)));
  emit("field-reattach-missing-and-zero", Stream().add(reattach(u64max, 1)).add(reattach(0, 0)));

  // Found by review, confirmed with the fuzz binary: Reattach adds `references` one at a time, so
  // 2^32-1 of them keep the single-threaded daemon busy for minutes (and can wrap the 32-bit count).
  emit("regression-reattach-huge-references",
       Stream().add(create("v", "d", pb::VALUE, 1)).add(reattach(1, u32max)).add(detach(1)));

  // Holds (last, so the request ids of the files above stay as they were). Frames alternate
  // between connection 1 (even frames) and 2 (odd frames), and a hold needs a reference on its
  // own connection; claim N stands for the Nth token issued.
  emit("valid-hold-then-claim", Stream()
                                    .add(create("e", "d", pb::VALUE, 1, kOwner, 0644, le64(1.5), true))  // c1
                                    .add(attach("e", kOther, true))                                      // c2
                                    .add(hold(1))                                                        // c1: token 1
                                    .add(detach(1))                                                      // c2
                                    .add(detach(1))                                                      // c1
                                    .add(claim("e", 1, kOther, true))                                    // c2: claimed
                                    .add(info("e"))
                                    .add(claim("e", 1, kOther, true)));  // spent: a plain attach
  emit("valid-hold-outlives-its-connections",
       Stream().add(create("e", "i", pb::ARRAY, 8, kOwner, 0, {}, true)).add(info("e")).add(hold(1, 5)).add(list()));
  emit("valid-hold-not-attached", Stream()
                                      .add(create("n", "q", pb::VALUE, 1))  // c1
                                      .add(hold(1))                         // c2 holds no reference
                                      .add(hold(99))                        // c1, no such segment
                                      .add(hold(0, 0, kRoot)));
  emit("valid-hold-seconds", Stream()
                                 .add(create("s", "f", pb::VALUE, 1, kOwner, 0, {}, true))
                                 .add(info("s"))
                                 .add(hold(1, 600))
                                 .add(info("s"))
                                 .add(hold(1, 601))
                                 .add(info("s"))
                                 .add(hold(1, u32max)));
  emit("valid-hold-per-uid-limit", [] {
    Stream s;
    s.add(create("l", "B", pb::VALUE, 1, kOwner, 0666)).add(attach("l", kRoot));
    for (int i = 0; i < 6; ++i) s.add(hold(1, 0, i % 2 == 0 ? kOwner : kRoot));
    for (int i = 0; i < 6; ++i) s.add(hold(1, 0, kRoot));
    return s;
  }());
  emit("valid-hold-claim-bad-tokens", Stream()
                                          .add(create("b", "h", pb::VALUE, 1, kOwner, 0, {}, true))
                                          .add(info("b"))
                                          .add(hold(1))
                                          .add(claim("b", u64max))
                                          .add(claim("b", 0))
                                          .add(claim("missing", 1))
                                          .add(create("b2", "h", pb::VALUE, 1, kOwner, 0, {}, true))
                                          .add(claim("b2", 1))           // token 1 holds b, not b2
                                          .add(claim("b", 1, kOther)));  // not permitted: the hold stays
  emit("valid-hold-then-remove", Stream()
                                     .add(create("r", "L", pb::VALUE, 1))
                                     .add(info("r"))
                                     .add(hold(1))
                                     .add(info("r"))
                                     .add(detach(1))
                                     .add(remove_req("r"))
                                     .add(claim("r", 1))
                                     .add(list()));
  emit("field-hold-huge-id-and-seconds", Stream().add(hold(u64max, u32max)).add(hold(0, 0)).add(claim("", u64max)));
  // Added after the files above, so that their request ids stay as they were.
  emit("valid-hold-from-close", Stream()
                                    .add(create("f", "d", pb::VALUE, 1, kOwner, 0644, {}, true))  // c1
                                    .add(attach("f", kOther, true))                               // c2
                                    .add(hold(1, 1, kOwner, true))     // c1: token 1, waits for c1's close
                                    .add(hold(1, 0, kOther, true))     // c2: token 2
                                    .add(detach(1))                    // c1
                                    .add(claim("f", 2, kOther, true))  // c2 claims its own
                                    .add(info("f"))
                                    .add(remove_req("f")));  // ends token 1, which still waits for c1

  // Subscribers of every access class watch a segment's whole life; bad prefixes are refused.
  emit("valid-subscribe", Stream()
                              .add(subscribe("", true, kOther))
                              .add(subscribe("ev", false, kOwner))
                              .add(create("ev", "i", pb::VALUE, 1, kOwner, 0644))
                              .add(attach("ev", kGroup, true))
                              .add(chmod_req("ev", 0600))
                              .add(hold(1, 5))
                              .add(remove_req("ev"))
                              .add(detach(1)));
  emit("field-subscribe-bad-prefix", Stream()
                                         .add(subscribe("a/b", false))
                                         .add(subscribe(std::string(300, 'p'), true))
                                         .add(subscribe("ok", true, kRoot)));

  if (target == "frame") {
    // The same streams behind the frame target's control bytes: the default limit with two
    // chunkings, and a 64-byte limit that the longer frames exceed.
    Files framed;
    for (const auto& [name, stream] : files)
      for (const std::string& control : {std::string("\0\0", 2), std::string("\0\x07", 2), std::string("\x08\x01", 2)})
        framed.emplace_back("frame-" + name + "-" + std::to_string(static_cast<unsigned char>(control[0])) + "-" +
                                std::to_string(static_cast<unsigned char>(control[1])),
                            Stream().raw(control).raw(stream.bytes()));
    return write_files(dir, framed);
  }
  return write_files(dir, files);
}
