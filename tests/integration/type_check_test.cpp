// Attaching with a type: a wrong typecode or kind fails with type_mismatch, and open_existing
// attaches only to a segment of the same shape.

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "segment_queries.hpp"
#include "shm/shm.hpp"

namespace {

using shm::Errc;
using shm::test::DaemonProcess;
using shm::test::refcount;

TEST(TypeCheck, AttachWithTheWrongTypeFailsWithTypeMismatch) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  auto v = client.create_value<int>("an.int", 3);
  auto a = client.create_array<double>("doubles", 4);

  std::error_code ec;
  EXPECT_FALSE(client.attach_value<double>("an.int", ec));
  EXPECT_EQ(ec, Errc::type_mismatch);
  EXPECT_FALSE(shm::last_error_message().empty());
  client.attach_value<unsigned>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.attach_value<long>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.attach_array<int>("an.int", ec);
  EXPECT_EQ(ec, Errc::type_mismatch) << "a Value is not an Array";
  client.attach_value<double>("doubles", ec);
  EXPECT_EQ(ec, Errc::type_mismatch) << "an Array is not a Value";
  client.attach_array<float>("doubles", ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  try {
    client.attach_value<double>("an.int");
    ADD_FAILURE() << "the throwing form should throw";
  } catch (const shm::Error& e) {
    EXPECT_EQ(e.code(), Errc::type_mismatch);
  }

  // The failed attaches left no references behind.
  EXPECT_EQ(refcount(client, "an.int"), 1);
  EXPECT_EQ(refcount(client, "doubles"), 1);

  auto ok = client.attach_value<int>("an.int", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ok.load(), 3);
  auto ok_array = client.attach_array<double>("doubles", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(ok_array.size(), 4U);
}

TEST(TypeCheck, OpenExistingAttachesOnlyToTheSameShape) {
  DaemonProcess daemon;
  shm::Client client(daemon.socket_path());
  shm::CreateOptions reuse;
  reuse.open_existing = true;
  auto first = client.create_value<int>("shape", 5, reuse);
  auto second = client.create_value<int>("shape", 9, reuse);  // attaches; keeps the value
  EXPECT_EQ(second.load(), 5);
  EXPECT_EQ(second.info().id, first.info().id);
  EXPECT_EQ(refcount(client, "shape"), 2);

  std::error_code ec;
  client.create_value<double>("shape", 1.0, reuse, ec);
  EXPECT_EQ(ec, Errc::type_mismatch);
  client.create_value<int>("shape", 1, {}, ec);
  EXPECT_EQ(ec, Errc::already_exists);
  EXPECT_EQ(refcount(client, "shape"), 2);
}

}  // namespace
