#pragma once
/// JsonObject: builds one JSON object as text, keys in insertion order.

#include <concepts>
#include <string>
#include <string_view>

#include "shm/json_quote.hpp"

namespace shmctl {

using shm::json_quote;

/// A JSON object under construction. Separate method names per JSON type keep a string literal
/// from silently becoming a bool.
class JsonObject {
 public:
  /// Adds `"key": "value"`.
  JsonObject& string(std::string_view key, std::string_view value);
  /// Adds `"key": value` for an integer.
  template <std::integral T>
  JsonObject& number(std::string_view key, T value) {
    return raw(key, std::to_string(value));
  }
  /// Adds `"key": true|false`.
  JsonObject& boolean(std::string_view key, bool value);
  /// Adds `"key": <json>` where `json` is already valid JSON text.
  JsonObject& raw(std::string_view key, std::string_view json);
  /// The object's text: `{"a": 1, "b": "x"}`.
  [[nodiscard]] std::string str() const;

 private:
  std::string members_;  ///< `"k": v` pairs joined by ", "
};

}  // namespace shmctl
