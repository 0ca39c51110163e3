#pragma once
/// Subscriber: one event stream's filter and its bounded queue of encoded frames. Never sees a
/// socket: the session that owns it drains the frames, and is told when there are some.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "shmd.pb.h"
#include "shmd/credentials.hpp"
#include "shmd/registry_event.hpp"

namespace shmd {

/// Events this many deep wait per subscriber by default (--max-subscriber-events); a frame is at
/// most a few hundred bytes (names are at most 255), so a full queue is well under 1 MiB.
inline constexpr std::size_t kDefaultSubscriberEvents = 1024;

/// What one subscriber asked to see, and the events that wait for it. When `limit` events wait,
/// newer ones are dropped and counted; the subscriber then gets one EVENT_OVERFLOW frame in their
/// place (with the count) before the next event that fits, or as soon as its queue runs empty.
class Subscriber {
 public:
  /// Shows `who` the events about segments named `prefix`..., with reference changes if
  /// `attachments`, framed as Responses with `request_id`, at most `limit` (>= 1) waiting.
  Subscriber(Credentials who, std::uint64_t request_id, std::string prefix, bool attachments, std::size_t limit);

  /// Whether this subscriber is shown `event`: its kind, its name and the access rules (the r
  /// bit, under the old or the new mode for a mode change).
  [[nodiscard]] bool wants(const RegistryEvent& event) const;
  /// Queues `event` as one frame, or counts it missed when `limit` events wait already.
  void push(const shmd::v1::Event& event);
  /// Moves the next frame to send into `frame`; false when nothing waits.
  bool pop(std::string& frame);
  /// Called after each push() that queued something (the session wakes its writer).
  void set_ready_callback(std::function<void()> ready) { ready_ = std::move(ready); }

  /// Events waiting (overflow notices not counted); never more than limit().
  [[nodiscard]] std::size_t queued() const noexcept { return queued_events_; }
  /// Bytes of the frames waiting.
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  /// The most events that may wait.
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// Whose access rules filter the events (and whose subscriber quota it counts against).
  [[nodiscard]] const Credentials& who() const noexcept { return who_; }
  /// Events dropped since the last overflow notice was queued.
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }

 private:
  /// One frame waiting, and whether it is an event (overflow notices do not count to the limit).
  struct Queued {
    std::string frame;  ///< the framed Response
    bool event;         ///< false for an overflow notice
  };
  /// Appends `event` framed as this subscriber's Response.
  void enqueue(const shmd::v1::Event& event, bool counts);
  /// Appends the overflow notice for the events missed so far, and resets the count.
  void enqueue_overflow();

  Credentials who_;                ///< whose access rules filter the events
  std::uint64_t request_id_;       ///< the Subscribe's, echoed in every event frame
  std::string prefix_;             ///< names that do not start with it are not shown
  bool attachments_;               ///< reference changes are shown
  std::size_t limit_;              ///< most events waiting
  std::deque<Queued> queue_;       ///< frames in the order they go out
  std::size_t queued_events_ = 0;  ///< entries of queue_ that are events
  std::size_t queued_bytes_ = 0;   ///< bytes of queue_'s frames
  std::uint64_t missed_ = 0;       ///< dropped since the last notice
  std::function<void()> ready_;    ///< wakes the writer; may be empty
  shmd::v1::Response response_;    ///< reused to frame each event
};

}  // namespace shmd
