// Registry logic: reference counts, deferred remove, ephemeral segments, limits. No daemon runs.

#include "shmd/registry.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "shm/change_word.hpp"
#include "shm/unique_fd.hpp"

namespace shmd {
namespace {

constexpr ClientId kAlice = 1;
constexpr ClientId kBob = 2;
const Credentials kAliceCreds{1000, 100, 4242};
const Credentials kBobCreds{0, 0, 4343};  // root: these tests are about lifetimes, not permissions

CreateParams value_params(std::string_view name, char typecode = 'd') {
  CreateParams p;
  p.name = name;
  p.typecode = typecode;
  p.kind = shm::Kind::value;
  p.length = 1;
  return p;
}

CreateParams array_params(std::string_view name, std::uint64_t length, char typecode = 'i') {
  CreateParams p = value_params(name, typecode);
  p.kind = shm::Kind::array;
  p.length = length;
  return p;
}

std::uint64_t create_ok(Registry& r, ClientId c, const CreateParams& p) {
  auto out = r.create(c, kAliceCreds, p);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.failure().message);
  return out.ok() ? out->segment->id : 0;
}

std::vector<std::string> listed_names(const Registry& r) {
  std::vector<std::string> names;
  r.for_each_after("", 0, [&](const SegmentRecord& s) {
    names.push_back(s.name + (s.removed ? "(removed)" : ""));
    return true;
  });
  return names;
}

/// A segment as the fd store hands one back: shape and owner only; restore() sets the counts.
SegmentRecord restorable(std::uint64_t id, const std::string& name, std::uint32_t mode = 0600) {
  SegmentRecord s;
  s.id = id;
  s.name = name;
  s.typecode = 'i';
  s.length = 1;
  s.element_size = 4;
  s.sizes = *shm::segment_sizes(4, 1, shm::Kind::value);
  s.creator = kAliceCreds;
  s.mode = mode;
  return s;
}

/// Records what the registry reports, as the fd store's journal would.
class RecordingObserver final : public RegistryObserver {
 public:
  void segment_created(const SegmentRecord& r) override { events.push_back("created " + counts(r)); }
  void segment_updated(const SegmentRecord& r) override { events.push_back("updated " + counts(r)); }
  void segment_removed(const SegmentRecord& r) override { events.push_back("removed " + std::to_string(r.id)); }
  void segment_freed(const SegmentRecord& r) override { events.push_back("freed " + std::to_string(r.id)); }
  void segment_references(const SegmentRecord& r) override { events.push_back("references " + counts(r)); }
  std::vector<std::string> events;  ///< one line per report

 private:
  static std::string counts(const SegmentRecord& r) {
    return std::to_string(r.id) + " " + std::to_string(r.references());
  }
};

TEST(Registry, CreateRecordsMetadataAndGivesCreatorAReference) {
  Registry r;
  CreateParams p = array_params("arr", 10);
  p.mode = 0640;
  const auto id = create_ok(r, kAlice, p);
  const SegmentRecord* s = r.find("arr");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, id);
  EXPECT_EQ(s->refcount, 1u);
  EXPECT_EQ(s->typecode, 'i');
  EXPECT_EQ(s->element_size, 4u);
  EXPECT_EQ(s->sizes.data_bytes, 40u);
  EXPECT_EQ(s->creator.uid, 1000u);
  EXPECT_EQ(s->creator.gid, 100u);
  EXPECT_EQ(s->creator.pid, 4242);
  EXPECT_EQ(s->mode, 0640u);
  EXPECT_GT(s->created_unix_ns, 0);
  EXPECT_EQ(r.total_bytes(), s->sizes.mapping_bytes);
}

TEST(Registry, MemfdIsSealedAgainstResizing) {
  Registry r;
  create_ok(r, kAlice, value_params("v"));
  const int fd = r.find("v")->memfd.get();
  const int seals = ::fcntl(fd, F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_NE(::ftruncate(fd, 0), 0);
  EXPECT_NE(::ftruncate(fd, 1 << 20), 0);
}

TEST(Registry, InitialDataIsWrittenAfterTheHeader) {
  Registry r;
  const int values[3] = {7, 8, 9};
  CreateParams p = array_params("init", 3);
  p.initial = std::string_view(reinterpret_cast<const char*>(values), sizeof values);
  create_ok(r, kAlice, p);
  const SegmentRecord* s = r.find("init");
  void* map = ::mmap(nullptr, s->sizes.mapping_bytes, PROT_READ, MAP_SHARED, s->memfd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  const auto* data = reinterpret_cast<const int*>(static_cast<const char*>(map) + shm::kArrayDataOffset);
  EXPECT_EQ(data[0], 7);
  EXPECT_EQ(data[2], 9);
  const auto* header = static_cast<const shm::SegmentHeader*>(map);
  EXPECT_EQ(header->magic, shm::kSegmentMagic);
  EXPECT_EQ(header->length, 3u);
  ::munmap(map, s->sizes.mapping_bytes);
}

TEST(Registry, MemfdIsExactlyTheMappingSizeWithHeaderAndDataInPlace) {
  // Small segments are written whole, bigger ones sized first and written in part: both ways the
  // file must be exactly mapping_bytes, with the header, the initial data or zeros.
  Registry r;
  std::vector<std::int64_t> big(2000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::int64_t>(i) * 3;
  struct Case {
    std::string name;
    std::uint64_t length;
    std::vector<std::int64_t> initial;
  };
  const std::vector<Case> cases = {{"small.zero", 1, {}},
                                   {"small.init", 4, {1, 2, 3, 4}},
                                   {"page.zero", (4096 - shm::kArrayDataOffset) / 8, {}},
                                   {"big.zero", 2000, {}},
                                   {"big.init", 2000, big}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    CreateParams p = array_params(c.name, c.length, 'q');
    p.initial = std::string_view(reinterpret_cast<const char*>(c.initial.data()), c.initial.size() * 8);
    create_ok(r, kAlice, p);
    const SegmentRecord* s = r.find(c.name);
    ASSERT_NE(s, nullptr);
    const auto size = static_cast<off_t>(s->sizes.mapping_bytes);
    EXPECT_EQ(::lseek(s->memfd.get(), 0, SEEK_END), size);
    shm::SegmentHeader header{};
    ASSERT_EQ(::pread(s->memfd.get(), &header, sizeof header, 0), ssize_t{sizeof header});
    EXPECT_EQ(header.magic, shm::kSegmentMagic);
    EXPECT_EQ(header.length, c.length);
    std::vector<std::int64_t> data(c.length, -1);
    ASSERT_EQ(::pread(s->memfd.get(), data.data(), data.size() * 8, shm::kArrayDataOffset),
              static_cast<ssize_t>(data.size() * 8));
    EXPECT_EQ(data, c.initial.empty() ? std::vector<std::int64_t>(c.length, 0) : c.initial);
  }
  // A Value is just its header, its element inside it next to the mutex.
  CreateParams v = value_params("value.init", 'd');
  const double pi = 3.25;
  v.initial = std::string_view(reinterpret_cast<const char*>(&pi), sizeof pi);
  create_ok(r, kAlice, v);
  create_ok(r, kAlice, value_params("value.zero", 'd'));
  for (const char* name : {"value.init", "value.zero"}) {
    SCOPED_TRACE(name);
    const SegmentRecord* s = r.find(name);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(::lseek(s->memfd.get(), 0, SEEK_END), static_cast<off_t>(sizeof(shm::SegmentHeader)));
    shm::SegmentHeader header{};
    ASSERT_EQ(::pread(s->memfd.get(), &header, sizeof header, 0), ssize_t{sizeof header});
    EXPECT_EQ(header.data_offset, shm::kValueDataOffset);
    double got = -1;
    std::memcpy(&got, header.value, sizeof got);
    EXPECT_EQ(got, name == std::string("value.init") ? pi : 0.0);
  }
}

TEST(Registry, AttachAndDetachCountReferences) {
  Registry r;
  const auto id = create_ok(r, kAlice, value_params("v"));
  ASSERT_TRUE(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).ok());
  ASSERT_TRUE(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).ok());
  EXPECT_EQ(r.find("v")->refcount, 3u);
  auto left = r.detach(kBob, id);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left.value(), 2u);
  EXPECT_TRUE(r.detach(kBob, id).ok());
  auto none = r.detach(kBob, id);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.failure().code, shm::Errc::not_attached);
  EXPECT_EQ(r.find("v")->refcount, 1u);
}

TEST(Registry, PersistentSegmentOutlivesItsLastReference) {
  Registry r;
  const auto id = create_ok(r, kAlice, value_params("v"));
  ASSERT_TRUE(r.detach(kAlice, id).ok());
  ASSERT_NE(r.find("v"), nullptr);
  EXPECT_EQ(r.find("v")->refcount, 0u);
  EXPECT_EQ(r.segment_count(), 1u);
}

TEST(Registry, RemoveWhileAttachedDefersRelease) {
  Registry r;
  const auto id = create_ok(r, kAlice, value_params("v"));
  ASSERT_TRUE(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).ok());
  auto freed = r.remove(kAliceCreds, "v");
  ASSERT_TRUE(freed.ok());
  EXPECT_FALSE(freed.value());
  EXPECT_EQ(r.find("v"), nullptr) << "the name goes at once";
  EXPECT_EQ(r.segment_count(), 1u) << "the memory stays while referenced";
  EXPECT_EQ(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).failure().code, shm::Errc::not_found);

  // The name may be reused at once, by a different segment.
  const auto id2 = create_ok(r, kBob, value_params("v", 'i'));
  EXPECT_NE(id, id2);
  EXPECT_EQ(listed_names(r), (std::vector<std::string>{"v(removed)", "v"}));

  ASSERT_TRUE(r.detach(kAlice, id).ok());
  EXPECT_EQ(r.segment_count(), 2u);
  ASSERT_TRUE(r.detach(kBob, id).ok());
  EXPECT_EQ(r.segment_count(), 1u) << "freed with the last reference";
  EXPECT_EQ(r.find("v")->id, id2);
}

TEST(Registry, RemoveOfUnreferencedSegmentFreesAtOnce) {
  Registry r;
  const auto id = create_ok(r, kAlice, value_params("v"));
  ASSERT_TRUE(r.detach(kAlice, id).ok());
  auto freed = r.remove(kAliceCreds, "v");
  ASSERT_TRUE(freed.ok());
  EXPECT_TRUE(freed.value());
  EXPECT_EQ(r.segment_count(), 0u);
  EXPECT_EQ(r.total_bytes(), 0u);
  EXPECT_EQ(r.remove(kAliceCreds, "v").failure().code, shm::Errc::not_found);
}

TEST(Registry, EphemeralSegmentGoesWithItsLastReference) {
  Registry r;
  CreateParams p = value_params("e");
  p.ephemeral = true;
  const auto id = create_ok(r, kAlice, p);
  ASSERT_TRUE(r.attach(kBob, kBobCreds, "e", shm::AccessMode::read_write).ok());
  ASSERT_TRUE(r.detach(kAlice, id).ok());
  EXPECT_NE(r.find("e"), nullptr);
  r.drop_client(kBob);
  EXPECT_EQ(r.find("e"), nullptr);
  EXPECT_EQ(r.segment_count(), 0u);
}

TEST(Registry, DroppedClientGivesBackEveryReference) {
  Registry r;
  create_ok(r, kAlice, value_params("a"));
  create_ok(r, kBob, value_params("b"));
  ASSERT_TRUE(r.attach(kAlice, kAliceCreds, "b", shm::AccessMode::read_write).ok());
  ASSERT_TRUE(r.attach(kAlice, kAliceCreds, "b", shm::AccessMode::read_write).ok());
  r.drop_client(kAlice);
  EXPECT_EQ(r.find("a")->refcount, 0u);
  EXPECT_EQ(r.find("b")->refcount, 1u);
  r.drop_client(kAlice);  // idempotent
  EXPECT_EQ(r.find("b")->refcount, 1u);
}

TEST(Registry, DuplicateNameIsRefusedUnlessOpeningExisting) {
  Registry r;
  create_ok(r, kAlice, value_params("v"));
  EXPECT_EQ(r.create(kBob, kAliceCreds, value_params("v")).failure().code, shm::Errc::already_exists);

  CreateParams open = value_params("v");
  open.open_existing = true;
  auto out = r.create(kBob, kAliceCreds, open);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->created);
  EXPECT_EQ(out->segment->refcount, 2u);

  CreateParams wrong = value_params("v", 'i');
  wrong.open_existing = true;
  EXPECT_EQ(r.create(kBob, kAliceCreds, wrong).failure().code, shm::Errc::type_mismatch);
}

TEST(Registry, BadParametersAreRefusedWithReasons) {
  Registry r;
  struct Case {
    CreateParams params;
    shm::Errc code;
    std::string mentions;
  };
  std::string long_name(256, 'n');
  CreateParams initial_wrong = array_params("x", 4);
  initial_wrong.initial = "abc";
  CreateParams mode_wrong = value_params("x");
  mode_wrong.mode = 01777;
  const std::vector<Case> cases = {
      {value_params(""), shm::Errc::invalid_argument, "empty"},
      {value_params("a/b"), shm::Errc::invalid_argument, "0x2f"},
      {value_params(std::string_view("a\0b", 3)), shm::Errc::invalid_argument, "0x00"},
      {value_params(long_name), shm::Errc::invalid_argument, "255"},
      {value_params("x", 'z'), shm::Errc::invalid_argument, "typecode"},
      {array_params("x", 0), shm::Errc::invalid_argument, "length"},
      {[] {
         auto p = value_params("x");
         p.length = 2;
         return p;
       }(),
       shm::Errc::invalid_argument, "Value"},
      {array_params("x", UINT64_MAX / 2, 'd'), shm::Errc::limit_exceeded, "overflows"},
      {initial_wrong, shm::Errc::invalid_argument, "initial"},
      {mode_wrong, shm::Errc::invalid_argument, "mode"},
  };
  for (const auto& c : cases) {
    auto out = r.create(kAlice, kAliceCreds, c.params);
    ASSERT_FALSE(out.ok()) << c.mentions;
    EXPECT_EQ(out.failure().code, c.code) << out.failure().message;
    EXPECT_NE(out.failure().message.find(c.mentions), std::string::npos) << out.failure().message;
  }
  EXPECT_EQ(r.segment_count(), 0u);
}

TEST(Registry, LimitsAreEnforcedAndNamed) {
  Limits limits;
  limits.max_segments = 2;
  limits.max_segment_bytes = 1024;
  limits.max_total_bytes = 2000;
  limits.max_name_length = 8;
  Registry r(limits);

  auto big = r.create(kAlice, kAliceCreds, array_params("big", 257));  // 1028 bytes
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.failure().code, shm::Errc::limit_exceeded);
  EXPECT_NE(big.failure().message.find("max-segment-bytes"), std::string::npos);

  EXPECT_EQ(r.create(kAlice, kAliceCreds, value_params("ninechars")).failure().code, shm::Errc::invalid_argument);

  create_ok(r, kAlice, array_params("a", 256));  // 1024 + 128
  auto total = r.create(kAlice, kAliceCreds, array_params("b", 256));
  ASSERT_FALSE(total.ok());
  EXPECT_NE(total.failure().message.find("max-total-bytes"), std::string::npos);

  create_ok(r, kAlice, value_params("c"));
  auto count = r.create(kAlice, kAliceCreds, value_params("d"));
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.failure().message.find("max-segments"), std::string::npos);

  ASSERT_TRUE(r.remove(kAliceCreds, "c").ok());
  r.drop_client(kAlice);  // frees "c"; "a" stays (persistent)
  create_ok(r, kAlice, value_params("d"));
}

TEST(Registry, ListingIsOrderedAndResumable) {
  Registry r;
  for (const char* n : {"delta", "alpha", "charlie", "bravo"}) create_ok(r, kAlice, value_params(n));
  EXPECT_EQ(listed_names(r), (std::vector<std::string>{"alpha", "bravo", "charlie", "delta"}));
  std::vector<std::string> rest;
  const SegmentRecord* bravo = r.find("bravo");
  r.for_each_after(bravo->name, bravo->id, [&](const SegmentRecord& s) {
    rest.push_back(s.name);
    return rest.size() < 1;
  });
  EXPECT_EQ(rest, (std::vector<std::string>{"charlie"}));
}

TEST(RegistryAccess, ModeBitsDecideByOwnerGroupAndOther) {
  Registry r;
  CreateParams p = value_params("v");
  p.mode = 0640;
  create_ok(r, kAlice, p);
  const SegmentRecord& s = *r.find("v");
  const Credentials owner{1000, 999, 1};
  const Credentials group_member{2000, 100, 1};
  const Credentials supplementary{2001, 555, 1, {7, 100}};
  const Credentials other{3000, 300, 1};
  const Credentials root{0, 0, 1};
  EXPECT_TRUE(Registry::permits(owner, s, shm::AccessMode::read_only));
  EXPECT_TRUE(Registry::permits(owner, s, shm::AccessMode::read_write));
  EXPECT_TRUE(Registry::permits(group_member, s, shm::AccessMode::read_only));
  EXPECT_FALSE(Registry::permits(group_member, s, shm::AccessMode::read_write));
  EXPECT_TRUE(Registry::permits(supplementary, s, shm::AccessMode::read_only));
  EXPECT_FALSE(Registry::permits(other, s, shm::AccessMode::read_only));
  EXPECT_TRUE(Registry::permits(root, s, shm::AccessMode::read_write));

  EXPECT_EQ(r.attach(kBob, other, "v", shm::AccessMode::read_only).failure().code, shm::Errc::permission_denied);
  EXPECT_EQ(r.attach(kBob, group_member, "v", shm::AccessMode::read_write).failure().code,
            shm::Errc::permission_denied);
  ASSERT_TRUE(r.attach(kBob, group_member, "v", shm::AccessMode::read_only).ok());
  EXPECT_EQ(r.find("v")->refcount, 2u);
}

TEST(RegistryAccess, RefusedAttachNamesTheAccessAskedFor) {
  Registry r;
  CreateParams p = value_params("pub");
  p.mode = 0604;
  create_ok(r, kAlice, p);
  const Credentials group_member{2000, 100, 1};
  const Credentials other{3000, 300, 1};
  EXPECT_EQ(r.attach(kBob, group_member, "pub", shm::AccessMode::read_only).failure().message,
            "segment 'pub' (mode 0604) may not be attached read-only (that needs the r bit) by uid 2000");
  EXPECT_EQ(r.attach(kBob, other, "pub", shm::AccessMode::read_write).failure().message,
            "segment 'pub' (mode 0604) may not be attached read-write (that needs the r and w bits) by uid 3000");
  ASSERT_TRUE(r.attach(kBob, other, "pub", shm::AccessMode::read_only).ok()) << "others may read a 0604 segment";
}

TEST(RegistryAccess, OwnerBitsApplyToTheOwnerEvenWhenOthersMayDoMore) {
  Registry r;
  CreateParams p = value_params("v");
  p.mode = 0066;  // like SysV: the owner class is checked alone
  create_ok(r, kAlice, p);
  EXPECT_EQ(r.attach(kAlice, kAliceCreds, "v", shm::AccessMode::read_only).failure().code,
            shm::Errc::permission_denied);
}

TEST(RegistryAccess, OnlyOwnerOrRootMayRemoveOrChmod) {
  Registry r;
  create_ok(r, kAlice, value_params("v"));
  const Credentials other{3000, 300, 1};
  EXPECT_EQ(r.remove(other, "v").failure().code, shm::Errc::permission_denied);
  EXPECT_EQ(r.chmod(other, "v", 0666).failure().code, shm::Errc::permission_denied);
  auto changed = r.chmod(kAliceCreds, "v", 0644);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed.value()->mode, 0644u);
  EXPECT_TRUE(r.attach(kBob, other, "v", shm::AccessMode::read_only).ok()) << "the new mode applies at once";
  EXPECT_EQ(r.chmod(kAliceCreds, "v", 01000).failure().code, shm::Errc::invalid_argument);
  EXPECT_TRUE(r.remove(Credentials{0, 0, 1}, "v").ok());
}

TEST(RegistryAccess, QuotasArePerUidAndRootIsExempt) {
  Limits limits;
  limits.max_segments_per_uid = 2;
  limits.max_bytes_per_uid = 1000;
  Registry r(limits);
  const Credentials carol{3000, 300, 1};
  const Credentials dave{4000, 400, 1};
  ASSERT_TRUE(r.create(kAlice, carol, value_params("c1")).ok());
  ASSERT_TRUE(r.create(kAlice, carol, value_params("c2")).ok());
  auto third = r.create(kAlice, carol, value_params("c3"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.failure().code, shm::Errc::limit_exceeded);
  EXPECT_NE(third.failure().message.find("max-segments-per-uid"), std::string::npos);
  EXPECT_TRUE(r.create(kAlice, dave, value_params("d1")).ok()) << "another uid has its own quota";
  auto big = r.create(kAlice, dave, array_params("d2", 250));  // 1000 + 128 bytes
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.failure().message.find("max-bytes-per-uid"), std::string::npos);
  EXPECT_TRUE(r.create(kAlice, Credentials{0, 0, 1}, array_params("r1", 250)).ok());
  // Freeing gives quota back.
  ASSERT_TRUE(r.remove(carol, "c1").ok());
  r.drop_client(kAlice);
  EXPECT_EQ(r.usage(3000).second, 1u);
  EXPECT_TRUE(r.create(kBob, carol, value_params("c3")).ok());
}

TEST(Registry, ReferenceCountsAreBoundedInsteadOfWrapping) {
  Registry r;
  ASSERT_TRUE(r.restore(restorable(5, "v"), UINT32_MAX).ok());
  EXPECT_EQ(r.find("v")->unclaimed, kMaxReferences) << "a journal's count is capped too";
  auto huge = r.reattach(kAlice, kAliceCreds, 5, UINT32_MAX);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.failure().code, shm::Errc::not_attached);
  EXPECT_EQ(r.find("v")->refcount, 0u) << "a refused reattach changes nothing";
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 5, kMaxReferences).ok());
  EXPECT_EQ(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).failure().code, shm::Errc::limit_exceeded);
  r.drop_client(kAlice);
  EXPECT_EQ(r.find("v")->refcount, 0u);
  EXPECT_TRUE(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_write).ok());
}

TEST(RegistryRestore, RestoredSegmentsKeepIdsAndWaitForReattach) {
  Registry r;
  SegmentRecord eph = restorable(42, "eph");
  eph.ephemeral = true;
  ASSERT_TRUE(r.restore(restorable(41, "kept"), 3).ok());
  ASSERT_TRUE(r.restore(std::move(eph), 0).ok());
  EXPECT_EQ(r.find("eph")->refcount, 0u) << "not swept yet";
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 41, 3).ok());
  EXPECT_EQ(r.find("kept")->refcount, 3u);
  EXPECT_EQ(r.reattach(kAlice, kAliceCreds, 99, 1).failure().code, shm::Errc::not_found);
  EXPECT_EQ(r.sweep_unreferenced(), 1u);
  EXPECT_EQ(r.find("eph"), nullptr);
  EXPECT_NE(r.find("kept"), nullptr);
  EXPECT_GT(create_ok(r, kAlice, value_params("new")), 42u) << "ids continue after restored ones";
}

TEST(RegistryReattach, ASegmentThatWasNotRestoredCannotBeReattached) {
  Registry r;
  const auto id = create_ok(r, kAlice, value_params("v"));
  auto live = r.reattach(kBob, kBobCreds, id, 1);
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.failure().code, shm::Errc::not_attached);
  EXPECT_EQ(live.failure().message, "segment 'v' (id " + std::to_string(id) +
                                        ") was not restored after a daemon restart, so it has 0 unclaimed references "
                                        "from before one; this Reattach asked for 1");
  ASSERT_TRUE(r.remove(kAliceCreds, "v").ok());
  for (const std::uint32_t n : {0U, 1U, 1000U, kMaxReferences, UINT32_MAX})
    EXPECT_EQ(r.reattach(kBob, kBobCreds, id, n).failure().code, shm::Errc::not_attached) << n;
  // The creator's reference is the only one, so dropping it frees the removed segment.
  r.drop_client(kAlice);
  EXPECT_EQ(r.segment_count(), 0u);
  EXPECT_EQ(r.reattach(kBob, kBobCreds, id, 1).failure().code, shm::Errc::not_found);
}

TEST(RegistryReattach, ClaimsTakeOnlyUnclaimedReferencesFromBeforeTheRestartAndAreRefusedWhole) {
  Registry r;
  ASSERT_TRUE(r.restore(restorable(7, "v"), 3).ok());
  EXPECT_EQ(r.find("v")->refcount, 0u);
  EXPECT_EQ(r.find("v")->unclaimed, 3u);
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 7, 2).ok());
  auto over = r.reattach(kBob, kBobCreds, 7, 2);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.failure().code, shm::Errc::not_attached);
  EXPECT_EQ(
      over.failure().message,
      "segment 'v' (id 7) has 1 unclaimed references from before the daemon restarted; this Reattach asked for 2");
  EXPECT_EQ(r.find("v")->refcount, 2u) << "a refused claim takes nothing";
  ASSERT_TRUE(r.reattach(kBob, kBobCreds, 7, 0).ok()) << "0 means 1";
  EXPECT_EQ(r.find("v")->refcount, 3u);
  EXPECT_EQ(r.find("v")->unclaimed, 0u);
  EXPECT_EQ(r.reattach(kAlice, kAliceCreds, 7, 1).failure().code, shm::Errc::not_attached);
  // Claimed references are ordinary ones: detached one by one, dropped with the connection.
  EXPECT_EQ(r.detach(kBob, 7).value(), 2u);
  EXPECT_EQ(r.detach(kBob, 7).failure().code, shm::Errc::not_attached);
  r.drop_client(kAlice);
  EXPECT_EQ(r.find("v")->references(), 0u);
}

TEST(RegistryReattach, ReattachNeedsTheReadBitAndAnIdThatExists) {
  Registry r;
  ASSERT_TRUE(r.restore(restorable(7, "private", 0600), 2).ok());
  const Credentials stranger{3000, 300, 1};
  auto denied = r.reattach(kBob, stranger, 7, 1);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.failure().code, shm::Errc::permission_denied);
  EXPECT_EQ(denied.failure().message, "segment 'private' (id 7, mode 0600) is not readable by uid 3000");
  EXPECT_EQ(r.find("private")->unclaimed, 2u);
  EXPECT_EQ(r.reattach(kBob, stranger, 8, 1).failure().code, shm::Errc::not_found);
  EXPECT_TRUE(r.reattach(kAlice, kAliceCreds, 7, 2).ok()) << "the owner may";
}

TEST(RegistryReattach, ARestoredRemovedSegmentGoesWithItsLastClaimedReferenceOnceNoneAreUnclaimed) {
  Registry r;
  SegmentRecord removed = restorable(7, "gone");
  removed.removed = true;
  ASSERT_TRUE(r.restore(std::move(removed), 2).ok());
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 7, 1).ok());
  EXPECT_EQ(r.detach(kAlice, 7).value(), 0u);
  EXPECT_EQ(r.segment_count(), 1u) << "one reference from before the restart may still be claimed";
  ASSERT_TRUE(r.reattach(kBob, kBobCreds, 7, 1).ok());
  r.drop_client(kBob);
  EXPECT_EQ(r.segment_count(), 0u) << "freed with its last reference, before the grace period ends";
  EXPECT_EQ(r.total_bytes(), 0u);
  EXPECT_EQ(r.usage(kAliceCreds.uid).second, 0u);
}

TEST(RegistryReattach, TheGraceEndDropsUnclaimedReferencesAndReleasesWhatNobodyHolds) {
  Registry r;
  ASSERT_TRUE(r.restore(restorable(1, "persistent"), 2).ok());
  SegmentRecord eph = restorable(2, "eph");
  eph.ephemeral = true;
  ASSERT_TRUE(r.restore(std::move(eph), 2).ok());
  SegmentRecord removed = restorable(3, "removed");
  removed.removed = true;
  ASSERT_TRUE(r.restore(std::move(removed), 1).ok());
  SegmentRecord held_removed = restorable(4, "held.removed");
  held_removed.removed = true;
  ASSERT_TRUE(r.restore(std::move(held_removed), 2).ok());
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 2, 1).ok());
  ASSERT_TRUE(r.reattach(kAlice, kAliceCreds, 4, 1).ok());
  RecordingObserver seen;
  r.set_observer(&seen);

  EXPECT_EQ(r.sweep_unreferenced(), 1u) << "only the removed segment nobody reattached";
  ASSERT_NE(r.find("persistent"), nullptr) << "a persistent segment stays without references";
  EXPECT_EQ(r.find("persistent")->references(), 0u);
  ASSERT_NE(r.find("eph"), nullptr) << "an ephemeral segment stays while a connection holds it";
  EXPECT_EQ(r.find("eph")->references(), 1u);
  EXPECT_EQ(r.segment_count(), 3u);
  std::sort(seen.events.begin(), seen.events.end());
  EXPECT_EQ(seen.events, (std::vector<std::string>{"freed 3", "references 1 0", "references 2 1", "references 4 1"}));
  for (const std::uint64_t id : {1U, 2U, 4U})
    EXPECT_EQ(r.reattach(kBob, kBobCreds, id, 1).failure().code, shm::Errc::not_attached) << id;

  // The claimed references still count, and release as usual.
  r.drop_client(kAlice);
  EXPECT_EQ(r.find("eph"), nullptr);
  EXPECT_EQ(r.segment_count(), 1u);
}

TEST(RegistryReattach, EveryChangeOfTheCountIsReportedAndAClaimIsNot) {
  Registry r;
  RecordingObserver seen;
  r.set_observer(&seen);
  const auto id = create_ok(r, kAlice, value_params("v"));
  const std::string n = std::to_string(id);
  ASSERT_TRUE(r.attach(kBob, kBobCreds, "v", shm::AccessMode::read_only).ok());
  ASSERT_TRUE(r.detach(kBob, id).ok());
  CreateParams again = value_params("v");
  again.open_existing = true;
  ASSERT_TRUE(r.create(kBob, kBobCreds, again).ok());
  r.drop_client(kBob);
  r.drop_client(kAlice);
  EXPECT_EQ(seen.events,
            (std::vector<std::string>{"created " + n + " 1", "references " + n + " 2", "references " + n + " 1",
                                      "references " + n + " 2", "references " + n + " 1", "references " + n + " 0"}));
  seen.events.clear();
  Registry restored;
  ASSERT_TRUE(restored.restore(restorable(9, "r"), 2).ok());
  restored.set_observer(&seen);
  ASSERT_TRUE(restored.reattach(kAlice, kAliceCreds, 9, 2).ok());
  EXPECT_TRUE(seen.events.empty()) << "a claim moves references, it adds none";
  ASSERT_TRUE(restored.detach(kAlice, 9).ok());
  EXPECT_EQ(seen.events, (std::vector<std::string>{"references 9 1"}));
}

}  // namespace
}  // namespace shmd

namespace shmd {
namespace {

shm::SegmentHeader read_header(const SegmentRecord& s) {
  shm::SegmentHeader header{};
  EXPECT_EQ(::pread(s.memfd.get(), &header, sizeof header, 0), ssize_t{sizeof header});
  return header;
}

TEST(Registry, RemoveFlagsTheHeaderAndMovesTheChangeCount) {
  Registry r;
  create_ok(r, kAlice, value_params("flagged"));
  const SegmentRecord* s = r.find("flagged");
  ASSERT_NE(s, nullptr);
  const shm::SegmentHeader before = read_header(*s);
  EXPECT_EQ(before.flags, 0u);
  EXPECT_EQ(before.changes, 0u);
  const std::uint64_t id = s->id;
  r.hand_out(id);                                      // as the handler does once a create's reply carries the fd
  ASSERT_TRUE(r.remove(kAliceCreds, "flagged").ok());  // kAlice still holds it: the memfd stays
  const SegmentRecord* removed = nullptr;
  r.for_each_after("", 0, [&](const SegmentRecord& each) {
    if (each.id == id) removed = &each;
    return true;
  });
  ASSERT_NE(removed, nullptr);
  const shm::SegmentHeader after = read_header(*removed);
  EXPECT_EQ(after.flags, shm::kSegmentRemoved);
  EXPECT_NE(shm::change_word::count_of(after.changes), shm::change_word::count_of(before.changes));
}

TEST(Registry, ASegmentWhoseFdNeverLeftTheDaemonIsRemovedWithoutTouchingItsHeader) {
  Registry r;
  create_ok(r, kAlice, value_params("kept.home"));
  const SegmentRecord* s = r.find("kept.home");
  ASSERT_NE(s, nullptr);
  const shm::UniqueFd memfd(::dup(s->memfd.get()));  // to look at the header after the record is gone
  ASSERT_TRUE(memfd);
  ASSERT_TRUE(r.detach(kAlice, s->id).ok());  // a create without attach: its reference goes at once
  ASSERT_TRUE(r.remove(kAliceCreds, "kept.home").ok());
  EXPECT_EQ(r.find("kept.home"), nullptr);
  shm::SegmentHeader header{};
  ASSERT_EQ(::pread(memfd.get(), &header, sizeof header, 0), ssize_t{sizeof header});
  EXPECT_EQ(header.flags, 0u) << "nobody could map it: there was nobody to tell";
  EXPECT_EQ(header.changes, 0u);
}

TEST(Registry, WatchSetsTheWatchedBitForReadersOnly) {
  Registry r;
  create_ok(r, kAlice, value_params("watched"));  // mode 0600
  const SegmentRecord* s = r.find("watched");
  ASSERT_NE(s, nullptr);
  auto word = r.watch(kAliceCreds, s->id);
  ASSERT_TRUE(word.ok()) << word.failure().message;
  EXPECT_EQ(word.value() & shm::change_word::kWatched, shm::change_word::kWatched);
  EXPECT_EQ(read_header(*s).changes, word.value());
  const Credentials stranger{2000, 200, 99};
  auto refused = r.watch(stranger, s->id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().code, shm::Errc::permission_denied);
  auto missing = r.watch(kAliceCreds, s->id + 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.failure().code, shm::Errc::not_found);
}

}  // namespace
}  // namespace shmd
