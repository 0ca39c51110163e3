#pragma once
/// EventSink: where the registry reports every change that event subscribers may follow.

#include "shmd/registry_event.hpp"

namespace shmd {

/// Implemented by the layer that serves subscribers (EventHub); the registry only calls it, so it
/// never learns that a subscriber, a queue or a socket exists.
class EventSink {
 public:
  virtual ~EventSink() = default;
  /// Called synchronously at each change, after the registry's own state reflects it.
  virtual void publish(const RegistryEvent& event) = 0;
};

}  // namespace shmd
