#pragma once
/// BoundSubscription: shmd.Subscription, a shm::Subscription that Python threads may share.

#include <pybind11/pybind11.h>

#include <mutex>
#include <optional>

#include "shm/subscription.hpp"

namespace shmd_py {

/// One event stream. next() waits without the GIL, in slices, so signals (Ctrl-C) are answered
/// while it waits; a mutex keeps two threads from reading the stream at once.
class BoundSubscription {
 public:
  /// Wraps `subscription`.
  explicit BoundSubscription(shm::Subscription subscription) noexcept : subscription_(std::move(subscription)) {}

  /// The next event, waiting at most `timeout` seconds (None: for ever); None when none came in
  /// time. Raises ConnectionLostError when the stream ended.
  std::optional<shm::Event> next(const pybind11::object& timeout);
  /// The descriptor for selectors; ValueError once closed, as a closed file's fileno().
  [[nodiscard]] int fileno() const;
  /// True once closed (by close() or because the stream ended).
  [[nodiscard]] bool closed() const noexcept { return !subscription_.valid(); }
  /// True when an event is buffered here already, which select() on fileno() would not show.
  [[nodiscard]] bool buffered() const noexcept { return subscription_.buffered(); }
  /// The daemon's queue limit for this subscriber.
  [[nodiscard]] std::uint32_t queue_limit() const noexcept { return subscription_.queue_limit(); }
  /// Ends the subscription.
  void close() noexcept;

 private:
  shm::Subscription subscription_;  ///< the stream
  std::mutex mutex_;                ///< one reader at a time
};

}  // namespace shmd_py
