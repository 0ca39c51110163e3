// shmd._core: libshmclient for Python. The package shmd (python/shmd/) re-exports it.

#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "element_codec.hpp"
#include "errors.hpp"
#include "shm/change_word.hpp"
#include "shm/client.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "libshmclient's public API for Python (use the package shmd)";
  shmd_py::register_errors(m);
  shmd_py::bind_segment_info(m);
  shmd_py::bind_lock(m);
  shmd_py::bind_wait_result(m);
  shmd_py::bind_segment(m);
  shmd_py::bind_value(m);
  shmd_py::bind_array(m);
  shmd_py::bind_client(m);
  shmd_py::bind_subscription(m);
  m.attr("typecodes") = shmd_py::all_typecodes();
  m.def("default_socket_path", &shm::default_socket_path, "$SHMD_SOCKET, else /run/shmd/shmd.sock.");
  m.def(
      "set_wait_busy_poll",
      [](std::int64_t microseconds) {
        shm::change_word::set_busy_poll(std::chrono::microseconds(shmd_py::poll_window_from_python(microseconds)));
        return shm::change_word::busy_poll().count();
      },
      pybind11::arg("microseconds"),
      "How long every later wait() of this process polls the segment before it sleeps (default 50; 0 sleeps "
      "at once; at most 10,000). Returns the window set, clamped.");
  m.def(
      "wait_busy_poll", [] { return shm::change_word::busy_poll().count(); },
      "The microseconds a wait() polls before it sleeps (set_wait_busy_poll).");
  m.attr("__version__") = SHMD_VERSION;
}
