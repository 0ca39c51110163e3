#pragma once
/// Builders of shmd wire-protocol requests and raw frames, for the tests and the fuzz seeds that
/// speak the protocol below libshmclient (RawClient, tests/fuzz/make_corpus.cpp). Header-only, so
/// that programs outside shm::test_support (the seed writer) can use it too.
///
/// A builder sets only the fields it is given: proto3 does not serialize a field at its default,
/// so a request built here is byte for byte the one a hand-written builder made.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "shm/wire/framing.hpp"
#include "shmd.pb.h"

namespace shm::test {

/// Hello with `protocol_version` (1, this daemon's) and an optional client name.
inline shmd::v1::Request hello_request(std::uint32_t protocol_version = 1, std::string client_name = {}) {
  shmd::v1::Request r;
  r.mutable_hello()->set_protocol_version(protocol_version);
  if (!client_name.empty()) r.mutable_hello()->set_client_name(std::move(client_name));
  return r;
}

/// Create of a segment `name` with these typecode, kind and length; mode 0 is the daemon's default.
inline shmd::v1::Request create_request(const std::string& name, const std::string& typecode, shmd::v1::Kind kind,
                                        std::uint64_t length, std::uint32_t mode = 0, std::string initial = {}) {
  shmd::v1::Request r;
  auto* c = r.mutable_create();
  c->set_name(name);
  c->set_typecode(typecode);
  c->set_kind(kind);
  c->set_length(length);
  c->set_mode(mode);
  c->set_initial(std::move(initial));
  return r;
}

/// Attach to `name`, read-only if asked.
inline shmd::v1::Request attach_request(const std::string& name, bool read_only = false) {
  shmd::v1::Request r;
  r.mutable_attach()->set_name(name);
  r.mutable_attach()->set_read_only(read_only);
  return r;
}

/// Detach from segment `id`; with `no_reply` the daemon answers nothing.
inline shmd::v1::Request detach_request(std::uint64_t id, bool no_reply = false) {
  shmd::v1::Request r;
  r.mutable_detach()->set_id(id);
  r.mutable_detach()->set_no_reply(no_reply);
  return r;
}

/// Remove `name`.
inline shmd::v1::Request remove_request(const std::string& name) {
  shmd::v1::Request r;
  r.mutable_remove()->set_name(name);
  return r;
}

/// Info on `name`.
inline shmd::v1::Request info_request(const std::string& name) {
  shmd::v1::Request r;
  r.mutable_info()->set_name(name);
  return r;
}

/// List, from after (`after_name`, `after_id`), at most `limit` (0: the daemon's page size).
inline shmd::v1::Request list_request(const std::string& after_name = {}, std::uint64_t after_id = 0,
                                      std::uint32_t limit = 0) {
  shmd::v1::Request r;
  r.mutable_list()->set_after_name(after_name);
  r.mutable_list()->set_after_id(after_id);
  r.mutable_list()->set_limit(limit);
  return r;
}

/// Chmod `name` to `mode`.
inline shmd::v1::Request chmod_request(const std::string& name, std::uint32_t mode) {
  shmd::v1::Request r;
  r.mutable_chmod()->set_name(name);
  r.mutable_chmod()->set_mode(mode);
  return r;
}

/// Reattach to segment `id` with `references` references (a restarted client's).
inline shmd::v1::Request reattach_request(std::uint64_t id, std::uint32_t references) {
  shmd::v1::Request r;
  r.mutable_reattach()->set_id(id);
  r.mutable_reattach()->set_references(references);
  return r;
}

/// Hold segment `id` for `seconds` (0: the daemon's default), counted from the close of the
/// connection with `from_close`.
inline shmd::v1::Request hold_request(std::uint64_t id, std::uint32_t seconds = 0, bool from_close = false) {
  shmd::v1::Request r;
  r.mutable_hold()->set_id(id);
  r.mutable_hold()->set_seconds(seconds);
  r.mutable_hold()->set_from_close(from_close);
  return r;
}

/// `v` as the varint of a frame's length prefix.
inline std::string varint(std::uint64_t v) {
  std::string s;
  wire::append_varint(s, v);
  return s;
}

/// `payload` as one length-delimited frame.
inline std::string frame(std::string_view payload) {
  std::string s;
  wire::append_frame(s, payload);
  return s;
}

/// `request` serialized as one frame.
inline std::string frame(const shmd::v1::Request& request) { return frame(request.SerializeAsString()); }

}  // namespace shm::test
