#pragma once
/// Result<T>: a value, or why there is none (an Errc and a message). The one way internal code of
/// every side says "failed, and why"; the public API turns it into a std::error_code (docs/design.md,
/// "Errors").

#include <string>
#include <utility>
#include <variant>

#include "shm/error.hpp"

namespace shm {

/// Why something failed: the code, and the text that says exactly what was wrong (in the daemon,
/// both travel back in the reply).
struct Failure {
  Errc code;            ///< what kind of failure
  std::string message;  ///< says exactly what was wrong, naming the field or limit
};

/// Either a T or a Failure.
template <class T>
class [[nodiscard]] Result {
 public:
  /// Success.
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// Failure.
  Result(Failure f) : v_(std::move(f)) {}  // NOLINT(google-explicit-constructor)
  /// True on success.
  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  /// True on success.
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

/// Success with nothing to return, or a Failure.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() noexcept = default;
  /// Failure.
  Result(Failure f) : failure_(std::move(f)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  /// True on success.
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  /// True on success.
  explicit operator bool() const noexcept { return ok_; }
  /// The failure; only valid when !ok().
  [[nodiscard]] const Failure& failure() const noexcept { return failure_; }

 private:
  Failure failure_{Errc::internal, {}};  ///< why, when !ok_
  bool ok_ = true;                       ///< success
};

/// Builds a Failure.
inline Failure fail(Errc code, std::string message) { return Failure{code, std::move(message)}; }

}  // namespace shm
