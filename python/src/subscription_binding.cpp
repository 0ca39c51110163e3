#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <string>

#include "bindings.hpp"
#include "bound_subscription.hpp"
#include "errors.hpp"
#include "shm/client.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// How long one wait without the GIL lasts before signals are checked.
constexpr std::chrono::milliseconds kSlice{100};

}  // namespace

std::optional<shm::Event> BoundSubscription::next(const py::object& timeout) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;
  if (!timeout.is_none()) {
    const auto seconds = timeout.cast<double>();
    if (std::isnan(seconds) || seconds < 0) throw py::value_error("timeout must be None or a number >= 0");
    deadline = Clock::now() +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::min(seconds, 1e9)));
  }
  for (;;) {
    std::error_code ec;
    std::optional<shm::Event> event;
    {
      py::gil_scoped_release nogil;
      std::lock_guard lock(mutex_);
      auto slice = kSlice;
      if (deadline)
        slice = std::min(slice, std::chrono::ceil<std::chrono::milliseconds>(
                                    std::max(*deadline - Clock::now(), Clock::duration::zero())));
      event = subscription_.next(slice, ec);
    }
    if (ec) throw_error(ec, "subscription: " + shm::last_error_message());
    if (event) return event;
    if (deadline && Clock::now() >= *deadline) return std::nullopt;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

int BoundSubscription::fileno() const {
  if (!subscription_.valid()) throw py::value_error("I/O operation on a closed Subscription");
  return subscription_.fd();
}

void BoundSubscription::close() noexcept {
  std::lock_guard lock(mutex_);
  subscription_.close();
}

void bind_subscription(py::module_& m) {
  py::class_<shm::Event>(m, "Event",
                         "One change to the registry: kind ('created', 'removed', 'freed', 'mode_changed', "
                         "'attached', 'detached' or 'overflow'), the segment after it (None for an overflow), "
                         "and for an overflow how many events were missed.")
      .def_property_readonly("kind", [](const shm::Event& e) { return std::string(shm::event_kind_name(e.kind)); })
      .def_property_readonly(
          "segment",
          [](const shm::Event& e) -> py::object {
            if (e.kind == shm::EventKind::overflow) return py::none();
            return py::cast(e.segment);
          },
          "The SegmentInfo after the change; None for an overflow.")
      .def_property_readonly(
          "name",
          [](const shm::Event& e) -> py::object {
            if (e.kind == shm::EventKind::overflow) return py::none();
            return py::str(e.segment.name);
          },
          "The segment's name (None for an overflow).")
      .def_readonly("missed", &shm::Event::missed, "For an overflow: how many events the daemon dropped; else 0.")
      .def("__repr__", [](const shm::Event& e) {
        const std::string kind(shm::event_kind_name(e.kind));
        if (e.kind == shm::EventKind::overflow) return "<shmd.Event overflow missed=" + std::to_string(e.missed) + ">";
        return "<shmd.Event " + kind + " '" + e.segment.name + "' id=" + std::to_string(e.segment.id) +
               " refcount=" + std::to_string(e.segment.refcount) + ">";
      });

  py::class_<BoundSubscription>(m, "Subscription",
                                "Events about the segments this process may read, from Client.subscribe() on, on a "
                                "connection of their own. Iterate, call next(timeout), or register fileno() with "
                                "selectors; a context manager closes it.")
      .def("next", &BoundSubscription::next, py::arg("timeout") = py::none(),
           "The next Event, waiting at most `timeout` seconds (None: until one comes; 0: not at all); None when "
           "none came in time. Raises ConnectionLostError when the daemon ended the stream (it stopped or "
           "restarted: subscribe again, then list).")
      .def("__iter__", [](py::object self) { return self; })
      .def(
          "__next__",
          [](BoundSubscription& s) {
            if (s.closed()) throw py::stop_iteration();
            try {
              return *s.next(py::none());
            } catch (const shm::Error& e) {
              if (e.code() == shm::Errc::connection_lost) throw py::stop_iteration();
              throw;
            }
          },
          "Waits for the next Event; iteration ends when the stream does (the daemon stopped or restarted).")
      .def("fileno", &BoundSubscription::fileno, "The connection's descriptor, readable when an event may be there.")
      .def_property_readonly("closed", &BoundSubscription::closed)
      .def_property_readonly("buffered", &BoundSubscription::buffered,
                             "True when an event is already buffered, so a select() on fileno() could wait past it.")
      .def_property_readonly("queue_limit", &BoundSubscription::queue_limit,
                             "Events shmd queues for this subscriber before it drops some and sends an overflow.")
      .def("close", &BoundSubscription::close, "Ends the subscription (closes its connection).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](BoundSubscription& s, const py::args&) { s.close(); })
      .def("__repr__", [](const BoundSubscription& s) {
        return std::string("<shmd.Subscription ") + (s.closed() ? "closed" : "open") + ">";
      });
}

}  // namespace shmd_py
