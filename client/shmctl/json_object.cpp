#include "json_object.hpp"

namespace shmctl {

JsonObject& JsonObject::string(std::string_view key, std::string_view value) { return raw(key, json_quote(value)); }

JsonObject& JsonObject::boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }

JsonObject& JsonObject::raw(std::string_view key, std::string_view json) {
  if (!members_.empty()) members_ += ", ";
  members_ += json_quote(key);
  members_ += ": ";
  members_ += json;
  return *this;
}

std::string JsonObject::str() const { return "{" + members_ + "}"; }

}  // namespace shmctl
