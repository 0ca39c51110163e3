// RequestHandler: protocol semantics without a socket (dispatch, errors, fds, list paging).

#include "shmd/request_handler.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "shm/wire/framing.hpp"
#include "shm/wire/protocol_version.hpp"

namespace shmd {
namespace {

namespace pb = shmd::v1;

class RequestHandlerTest : public ::testing::Test {
 protected:
  Reply call(const pb::Request& req, ClientId client = 1) { return handler_.handle({client, {1000, 1000, 77}}, req); }

  Reply create(const std::string& name, const std::string& typecode = "d", pb::Kind kind = pb::VALUE,
               std::uint64_t length = 1) {
    pb::Request req;
    auto* c = req.mutable_create();
    c->set_name(name);
    c->set_typecode(typecode);
    c->set_kind(kind);
    c->set_length(length);
    return call(req);
  }

  Registry registry_;
  RequestHandler handler_{registry_, "test"};
};

TEST_F(RequestHandlerTest, HelloReportsVersionAndRefusesOthers) {
  pb::Request req;
  req.set_request_id(9);
  req.mutable_hello()->set_protocol_version(shm::wire::kProtocolVersion);
  Reply ok = call(req);
  EXPECT_EQ(ok.response.request_id(), 9u);
  ASSERT_TRUE(ok.response.has_hello());
  EXPECT_EQ(ok.response.hello().protocol_version(), shm::wire::kProtocolVersion);

  req.mutable_hello()->set_protocol_version(99);
  Reply bad = call(req);
  ASSERT_TRUE(bad.response.has_error());
  EXPECT_EQ(bad.response.error().code(), pb::VERSION_MISMATCH);
  EXPECT_FALSE(bad.close_connection);
}

TEST_F(RequestHandlerTest, CreateLendsTheRegistrysMemfd) {
  Reply r = create("v");
  ASSERT_FALSE(r.response.has_error()) << r.response.error().message();
  ASSERT_TRUE(r.has_fd());
  EXPECT_EQ(r.fd_to_send(), registry_.find("v")->memfd.get())
      << "a writable attach needs no copy of its own: the reply shares the registry's memfd";
  struct stat st {};
  ASSERT_EQ(::fstat(r.fd_to_send(), &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), r.response.create().segment().mapping_bytes());
  const auto& info = r.response.create().segment();
  EXPECT_TRUE(r.response.create().created());
  EXPECT_EQ(info.name(), "v");
  EXPECT_EQ(info.typecode(), "d");
  EXPECT_EQ(info.mode(), 0600u) << "mode 0 means the default";
  EXPECT_EQ(info.uid(), 1000u);
  EXPECT_EQ(info.creator_pid(), 77);
  EXPECT_EQ(info.refcount(), 1u);
}

TEST_F(RequestHandlerTest, CreateWithoutAttachLeavesNoReferenceAndPassesNoFd) {
  pb::Request req;
  auto* c = req.mutable_create();
  c->set_name("admin");
  c->set_typecode("i");
  c->set_kind(pb::VALUE);
  c->set_length(1);
  c->set_no_attach(true);
  Reply r = call(req);
  ASSERT_FALSE(r.response.has_error()) << r.response.error().message();
  EXPECT_FALSE(r.has_fd());
  EXPECT_TRUE(r.response.create().created());
  EXPECT_EQ(r.response.create().segment().refcount(), 0u);
  ASSERT_NE(registry_.find("admin"), nullptr) << "a persistent segment stays without references";
  EXPECT_EQ(registry_.find("admin")->refcount, 0u);

  c->set_name("gone-at-once");
  c->set_ephemeral(true);
  Reply refused = call(req);
  ASSERT_TRUE(refused.response.has_error());
  EXPECT_EQ(refused.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(registry_.find("gone-at-once"), nullptr);
}

TEST_F(RequestHandlerTest, MalformedCreatesGetErrorsWithoutFds) {
  for (const auto& [typecode, kind] : std::vector<std::pair<std::string, pb::Kind>>{
           {"", pb::VALUE}, {"dd", pb::VALUE}, {"d", pb::KIND_UNSPECIFIED}, {"d", static_cast<pb::Kind>(42)}}) {
    Reply r = create("x", typecode, kind);
    ASSERT_TRUE(r.response.has_error());
    EXPECT_EQ(r.response.error().code(), pb::INVALID_ARGUMENT);
    EXPECT_FALSE(r.has_fd());
  }
  EXPECT_EQ(registry_.segment_count(), 0u);
}

TEST_F(RequestHandlerTest, RequestWithoutOperationIsAnErrorButKeepsTheConnection) {
  pb::Request req;
  req.set_request_id(5);
  Reply r = call(req);
  ASSERT_TRUE(r.response.has_error());
  EXPECT_EQ(r.response.error().code(), pb::INVALID_ARGUMENT);
  EXPECT_EQ(r.response.request_id(), 5u);
  EXPECT_FALSE(r.close_connection);
}

TEST_F(RequestHandlerTest, ProtocolErrorClosesTheConnection) {
  Reply r = RequestHandler::protocol_error("bad");
  EXPECT_TRUE(r.close_connection);
  EXPECT_EQ(r.response.error().code(), pb::PROTOCOL_ERROR);
}

TEST_F(RequestHandlerTest, DetachOfUnheldSegmentIsNotAttached) {
  Reply c = create("v");
  pb::Request req;
  req.mutable_detach()->set_id(c.response.create().segment().id());
  Reply other = call(req, /*client=*/2);
  ASSERT_TRUE(other.response.has_error());
  EXPECT_EQ(other.response.error().code(), pb::NOT_ATTACHED);
  Reply mine = call(req, 1);
  ASSERT_TRUE(mine.response.has_detach());
  EXPECT_EQ(mine.response.detach().refcount(), 0u);
}

TEST_F(RequestHandlerTest, QuietDetachIsAppliedButAsksForNoReply) {
  Reply c = create("v");
  pb::Request req;
  req.mutable_detach()->set_id(c.response.create().segment().id());
  req.mutable_detach()->set_no_reply(true);
  Reply refused = call(req, /*client=*/2);
  EXPECT_TRUE(refused.no_reply) << "not even an error goes back";
  EXPECT_EQ(registry_.find("v")->refcount, 1u);
  Reply applied = call(req, 1);
  EXPECT_TRUE(applied.no_reply);
  EXPECT_EQ(registry_.find("v")->refcount, 0u);
  req.mutable_detach()->set_no_reply(false);
  EXPECT_FALSE(call(req, 1).no_reply) << "an ordinary Detach is answered";
}

TEST_F(RequestHandlerTest, ListPagesStayUnderTheFrameLimitAndCoverEverything) {
  // Long names make each entry large, so several pages are needed.
  constexpr int kCount = 1500;
  std::set<std::string> created;
  for (int i = 0; i < kCount; ++i) {
    std::string name = std::to_string(i) + std::string(200, 'x');
    ASSERT_FALSE(create(name).response.has_error());
    created.insert(name);
  }
  std::set<std::string> seen;
  pb::Request req;
  req.mutable_list();
  int pages = 0;
  for (;;) {
    Reply r = call(req);
    ASSERT_TRUE(r.response.has_list());
    EXPECT_LE(r.response.ByteSizeLong(), shm::wire::kMaxFrameBytes);
    ++pages;
    for (const auto& s : r.response.list().segments()) EXPECT_TRUE(seen.insert(s.name()).second) << "duplicate";
    if (!r.response.list().more()) break;
    const auto& last = r.response.list().segments(r.response.list().segments_size() - 1);
    req.mutable_list()->set_after_name(last.name());
    req.mutable_list()->set_after_id(last.id());
  }
  EXPECT_GT(pages, 1);
  EXPECT_EQ(seen, created);
}

TEST_F(RequestHandlerTest, ListHonoursTheLimit) {
  for (const char* n : {"a", "b", "c"}) ASSERT_FALSE(create(n).response.has_error());
  pb::Request req;
  req.mutable_list()->set_limit(2);
  Reply r = call(req);
  ASSERT_EQ(r.response.list().segments_size(), 2);
  EXPECT_TRUE(r.response.list().more());
}

TEST_F(RequestHandlerTest, ReadOnlyAttachGetsAnFdThatCannotBeMappedWritable) {
  ASSERT_FALSE(create("v").response.has_error());
  pb::Request req;
  req.mutable_attach()->set_name("v");
  req.mutable_attach()->set_read_only(true);
  Reply r = call(req);
  ASSERT_TRUE(r.fd);
  const int flags = ::fcntl(r.fd.get(), F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  const auto size = r.response.attach().segment().mapping_bytes();
  void* rw = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd.get(), 0);
  EXPECT_EQ(rw, MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  void* ro = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, r.fd.get(), 0);
  ASSERT_NE(ro, MAP_FAILED);
  EXPECT_NE(::mprotect(ro, size, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(errno, EACCES);
  ::munmap(ro, size);
}

TEST_F(RequestHandlerTest, ListHidesCreatorDetailsFromThoseWhoCannotRead) {
  ASSERT_FALSE(create("private").response.has_error());  // mode 0600, uid 1000
  pb::Request req;
  req.mutable_list();
  Reply mine = call(req);
  ASSERT_EQ(mine.response.list().segments_size(), 1);
  EXPECT_EQ(mine.response.list().segments(0).creator_pid(), 77);
  Reply theirs = handler_.handle({2, {2000, 2000, 88}}, req);
  ASSERT_EQ(theirs.response.list().segments_size(), 1);
  const auto& seen = theirs.response.list().segments(0);
  EXPECT_EQ(seen.name(), "private");
  EXPECT_EQ(seen.uid(), 1000u);
  EXPECT_EQ(seen.mode(), 0600u);
  EXPECT_EQ(seen.creator_pid(), 0);
  EXPECT_EQ(seen.created_unix_ns(), 0);
  pb::Request info;
  info.mutable_info()->set_name("private");
  EXPECT_EQ(handler_.handle({2, {2000, 2000, 88}}, info).response.error().code(), pb::PERMISSION_DENIED);
}

TEST_F(RequestHandlerTest, ListOrdersNamesByteByByteThenIds) {
  // Unsigned byte order, a prefix first: - . 0-9 A-Z _ a-z. A removed segment keeps its name
  // and sorts with it, by id.
  const std::vector<std::string> sorted = {"-", ".", "0", "B", "_", "a", "a-", "a.", "a0", "aA", "a_", "aa", "b"};
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) ASSERT_FALSE(create(*it).response.has_error()) << *it;
  pb::Request rm;
  rm.mutable_remove()->set_name("a0");
  ASSERT_FALSE(call(rm).response.has_error());  // still referenced by client 1: listed as removed
  ASSERT_FALSE(create("a0").response.has_error());
  pb::Request req;
  req.mutable_list();
  Reply r = call(req);
  std::vector<std::string> names;
  std::uint64_t last_a0_id = 0;
  for (const auto& s : r.response.list().segments()) {
    names.push_back(s.name());
    if (s.name() == "a0") {
      EXPECT_GT(s.id(), last_a0_id) << "same name: by id";
      EXPECT_EQ(s.removed(), last_a0_id == 0) << "the older one was removed";
      last_a0_id = s.id();
    }
  }
  std::vector<std::string> expected = sorted;
  expected.insert(expected.begin() + 9, "a0");
  EXPECT_EQ(names, expected);
}

TEST_F(RequestHandlerTest, ListMoreMeansAnotherEntryAndTheCursorNeedNotExist) {
  for (const char* n : {"a", "b", "c"}) ASSERT_FALSE(create(n).response.has_error());
  pb::Request req;
  // A limit the entries fill exactly: no more, so no empty page to ask for.
  req.mutable_list()->set_limit(3);
  Reply all = call(req);
  EXPECT_EQ(all.response.list().segments_size(), 3);
  EXPECT_FALSE(all.response.list().more());
  // One short: more, and the next page holds the rest.
  req.mutable_list()->set_limit(2);
  Reply first = call(req);
  ASSERT_EQ(first.response.list().segments_size(), 2);
  ASSERT_TRUE(first.response.list().more());
  req.mutable_list()->set_after_name(first.response.list().segments(1).name());
  req.mutable_list()->set_after_id(first.response.list().segments(1).id());
  Reply second = call(req);
  ASSERT_EQ(second.response.list().segments_size(), 1);
  EXPECT_EQ(second.response.list().segments(0).name(), "c");
  EXPECT_FALSE(second.response.list().more());
  // The entries after a `more` went away meanwhile: an empty last page without more.
  pb::Request rm;
  rm.mutable_remove()->set_name("c");
  ASSERT_FALSE(call(rm).response.has_error());
  pb::Request detach;
  detach.mutable_detach()->set_id(second.response.list().segments(0).id());
  ASSERT_FALSE(call(detach).response.has_error());  // the last reference: "c" is freed
  Reply empty = call(req);
  EXPECT_EQ(empty.response.list().segments_size(), 0);
  EXPECT_FALSE(empty.response.list().more());
  // A cursor that names no segment resumes after where it would sort.
  req.mutable_list()->set_after_name("a-gone");
  req.mutable_list()->set_after_id(999);
  req.mutable_list()->set_limit(0);
  Reply resumed = call(req);
  ASSERT_EQ(resumed.response.list().segments_size(), 1);
  EXPECT_EQ(resumed.response.list().segments(0).name(), "b");
}

TEST_F(RequestHandlerTest, EachRequestNeedsTheAccessTheProtocolNames) {
  // Owner 1000:1000 (the fixture's client), mode 0640; a group member and a stranger ask.
  pb::Request make;
  auto* c = make.mutable_create();
  c->set_name("seg");
  c->set_typecode("i");
  c->set_kind(pb::VALUE);
  c->set_length(1);
  c->set_mode(0640);
  Reply made = call(make);
  ASSERT_FALSE(made.response.has_error());
  const std::uint64_t id = made.response.create().segment().id();
  const Credentials member{2000, 1000, 88};  // primary group is the owner's group: r only
  const Credentials stranger{3000, 3000, 99};
  auto code = [&](const Credentials& who, ClientId client, const pb::Request& req) {
    Reply r = handler_.handle({client, who}, req);
    return r.response.has_error() ? r.response.error().code() : pb::ERROR_CODE_UNSPECIFIED;
  };
  pb::Request info;
  info.mutable_info()->set_name("seg");
  pb::Request attach_rw;
  attach_rw.mutable_attach()->set_name("seg");
  pb::Request attach_ro = attach_rw;
  attach_ro.mutable_attach()->set_read_only(true);
  pb::Request open = make;
  open.mutable_create()->set_open_existing(true);
  pb::Request reattach;
  reattach.mutable_reattach()->set_id(id);
  pb::Request list;
  list.mutable_list();
  pb::Request remove;
  remove.mutable_remove()->set_name("seg");
  pb::Request chmod;
  chmod.mutable_chmod()->set_name("seg");
  chmod.mutable_chmod()->set_mode(0666);

  EXPECT_EQ(code(member, 2, info), pb::ERROR_CODE_UNSPECIFIED) << "Info needs r";
  EXPECT_EQ(code(stranger, 3, info), pb::PERMISSION_DENIED);
  EXPECT_EQ(code(member, 2, attach_ro), pb::ERROR_CODE_UNSPECIFIED) << "a read-only Attach needs r";
  EXPECT_EQ(code(member, 2, attach_rw), pb::PERMISSION_DENIED) << "a writable Attach needs r and w";
  EXPECT_EQ(code(member, 2, open), pb::PERMISSION_DENIED) << "open_existing needs r and w";
  EXPECT_EQ(code(stranger, 3, reattach), pb::PERMISSION_DENIED) << "Reattach needs r";
  EXPECT_EQ(code(stranger, 3, list), pb::ERROR_CODE_UNSPECIFIED) << "List needs nothing";
  EXPECT_EQ(code(member, 2, remove), pb::PERMISSION_DENIED) << "Remove: the owner only";
  EXPECT_EQ(code(member, 2, chmod), pb::PERMISSION_DENIED) << "Chmod: the owner only";
  // Detach needs nothing but a reference of this connection's own: client 2 holds one now.
  pb::Request detach;
  detach.mutable_detach()->set_id(id);
  EXPECT_EQ(code(stranger, 3, detach), pb::NOT_ATTACHED);
  EXPECT_EQ(code(member, 2, detach), pb::ERROR_CODE_UNSPECIFIED);
  // The owner may chmod even to 0000 (Chmod's 0 is 0000, not 0600), and still remove it.
  chmod.mutable_chmod()->set_mode(0);
  Reply locked = call(chmod);
  ASSERT_FALSE(locked.response.has_error());
  EXPECT_EQ(locked.response.chmod().segment().mode(), 0u);
  EXPECT_EQ(call(info).response.error().code(), pb::PERMISSION_DENIED) << "mode 0000 locks out the owner too";
  const Credentials root{0, 0, 1};
  EXPECT_EQ(code(root, 4, info), pb::ERROR_CODE_UNSPECIFIED) << "root passes every check";
  EXPECT_EQ(code(root, 4, attach_rw), pb::ERROR_CODE_UNSPECIFIED);
  EXPECT_FALSE(call(remove).response.has_error()) << "the owner may remove whatever the mode";
}

TEST_F(RequestHandlerTest, InfoAndRemoveReportMissingNames) {
  pb::Request info;
  info.mutable_info()->set_name("nope");
  EXPECT_EQ(call(info).response.error().code(), pb::NOT_FOUND);
  pb::Request rm;
  rm.mutable_remove()->set_name("nope");
  EXPECT_EQ(call(rm).response.error().code(), pb::NOT_FOUND);
}

TEST_F(RequestHandlerTest, HoldAnswersATokenWithoutAnFdAndTellsTheListener) {
  int told = 0;
  handler_.set_hold_listener([&] { ++told; });
  Reply c = create("v");
  const std::uint64_t id = c.response.create().segment().id();
  pb::Request req;
  req.mutable_hold()->set_id(id);
  Reply r = call(req);
  ASSERT_FALSE(r.response.has_error()) << r.response.error().message();
  ASSERT_TRUE(r.response.has_hold());
  EXPECT_FALSE(r.has_fd()) << "a hold hands over nothing";
  EXPECT_NE(r.response.hold().token(), 0u);
  EXPECT_EQ(r.response.hold().seconds(), 30u) << "0 means the default";
  EXPECT_EQ(r.response.hold().segment().refcount(), 2u);
  EXPECT_EQ(r.response.hold().segment().holds(), 1u);
  EXPECT_EQ(told, 1);

  req.mutable_hold()->set_seconds(601);
  Reply too_long = call(req);
  ASSERT_TRUE(too_long.response.has_error());
  EXPECT_EQ(too_long.response.error().code(), pb::INVALID_ARGUMENT);
  req.mutable_hold()->set_seconds(0);
  Reply other = call(req, /*client=*/2);
  EXPECT_EQ(other.response.error().code(), pb::NOT_ATTACHED);
  EXPECT_EQ(told, 1) << "refused holds arm nothing";
}

TEST_F(RequestHandlerTest, AttachWithAClaimSaysWhetherItTookTheHold) {
  Reply c = create("v");
  pb::Request hold;
  hold.mutable_hold()->set_id(c.response.create().segment().id());
  const std::uint64_t token = call(hold).response.hold().token();

  pb::Request attach;
  attach.mutable_attach()->set_name("v");
  attach.mutable_attach()->set_claim(token ^ 0x5a5a);
  Reply unclaimed = call(attach, 2);
  ASSERT_TRUE(unclaimed.response.has_attach()) << unclaimed.response.error().message();
  EXPECT_FALSE(unclaimed.response.attach().claimed());
  EXPECT_TRUE(unclaimed.has_fd());
  EXPECT_EQ(unclaimed.response.attach().segment().refcount(), 3u);

  attach.mutable_attach()->set_claim(token);
  Reply claimed = call(attach, 2);
  ASSERT_TRUE(claimed.response.has_attach()) << claimed.response.error().message();
  EXPECT_TRUE(claimed.response.attach().claimed());
  EXPECT_TRUE(claimed.has_fd());
  EXPECT_EQ(claimed.response.attach().segment().refcount(), 3u);
  EXPECT_EQ(claimed.response.attach().segment().holds(), 0u);
}

}  // namespace
}  // namespace shmd
