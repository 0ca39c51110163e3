#include <pybind11/pybind11.h>

#include <string>

#include "bindings.hpp"
#include "shm/wait_result.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

const char* status_name(shm::WaitStatus s) {
  switch (s) {
    case shm::WaitStatus::changed: return "changed";
    case shm::WaitStatus::timed_out: return "timed_out";
    case shm::WaitStatus::removed: return "removed";
  }
  return "?";
}

}  // namespace

void bind_wait_result(py::module_& m) {
  py::class_<shm::WaitResult>(m, "WaitResult",
                              "How a wait() or wait_for() ended: true when the segment changed (wait_for: the "
                              "predicate held); `changes` is the count to pass to the next wait().")
      .def_property_readonly(
          "status", [](const shm::WaitResult& r) { return status_name(r.status); },
          "'changed', 'timed_out' or 'removed'.")
      .def_readonly("changes", &shm::WaitResult::changes, "The change count now: the `seen` of the next wait().")
      .def_property_readonly("changed", &shm::WaitResult::changed,
                             "True when the segment changed (wait_for: the predicate held).")
      .def_property_readonly(
          "timed_out", [](const shm::WaitResult& r) { return r.status == shm::WaitStatus::timed_out; },
          "True when the timeout passed first.")
      .def_property_readonly(
          "removed", [](const shm::WaitResult& r) { return r.status == shm::WaitStatus::removed; },
          "True when the segment was removed.")
      .def("__bool__", &shm::WaitResult::changed)
      .def("__repr__", [](const shm::WaitResult& r) {
        return std::string("<shmd.WaitResult ") + status_name(r.status) + " changes=" + std::to_string(r.changes) + ">";
      });
}

}  // namespace shmd_py
