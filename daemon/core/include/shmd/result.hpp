#pragma once
/// Result<T>: a value or a protocol-level failure (code and message), for daemon internals.

#include <string>
#include <utility>
#include <variant>

#include "shm/error.hpp"

namespace shmd {

/// Why a request was refused: the code and the text that travel back in the reply.
struct Failure {
  shm::Errc code;       ///< what kind of failure
  std::string message;  ///< says exactly what was wrong, naming the field or limit
};

/// Either a T or a Failure.
template <class T>
class Result {
 public:
  /// Success.
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// Failure.
  Result(Failure f) : v_(std::move(f)) {}  // NOLINT(google-explicit-constructor)

  /// True on success.
  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The value; only valid when ok().
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  /// The value; only valid when ok().
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  /// The failure; only valid when !ok().
  [[nodiscard]] const Failure& failure() const { return std::get<1>(v_); }
  /// Shorthand for value().
  T* operator->() { return &value(); }
  /// Shorthand for value().
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Failure> v_;  ///< the outcome
};

/// Builds a Failure.
inline Failure fail(shm::Errc code, std::string message) { return Failure{code, std::move(message)}; }

}  // namespace shmd
