// shmd._core: libshmclient for Python. The package shmd (python/shmd/) re-exports it.

#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "element_codec.hpp"
#include "errors.hpp"
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
  m.attr("__version__") = SHMD_VERSION;
}
