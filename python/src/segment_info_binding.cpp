#include <pybind11/pybind11.h>

#include <array>
#include <chrono>
#include <string>

#include "bindings.hpp"
#include "shm/segment_info.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// The fields, in the order shmctl info --json prints them (plus the layout's two).
constexpr auto kFields = std::to_array<const char*>(
    {"name", "id", "kind", "typecode", "length", "element_size", "data_offset", "size_bytes", "mapping_bytes",
     "refcount", "holds", "uid", "gid", "mode", "ephemeral", "removed", "creator_pid", "created"});

/// `created` as an aware UTC datetime.
py::object created_of(const shm::SegmentInfo& s) {
  const double seconds = std::chrono::duration<double>(s.created.time_since_epoch()).count();
  const py::module_ datetime = py::module_::import("datetime");
  return datetime.attr("datetime").attr("fromtimestamp")(seconds, datetime.attr("timezone").attr("utc"));
}

/// Every field as a dict.
py::dict to_dict(const py::object& self) {
  py::dict d;
  for (const char* f : kFields) d[f] = self.attr(f);
  return d;
}

}  // namespace

void bind_segment_info(py::module_& m) {
  py::class_<shm::SegmentInfo>(m, "SegmentInfo",
                               "What the daemon says about one segment: the fields of `shmctl info --json` "
                               "(mode as an int, created as a UTC datetime), plus data_offset and mapping_bytes.")
      .def_readonly("id", &shm::SegmentInfo::id, "Unique for the daemon's lifetime.")
      .def_readonly("name", &shm::SegmentInfo::name)
      .def_property_readonly("typecode", [](const shm::SegmentInfo& s) { return std::string(1, s.typecode); })
      .def_property_readonly(
          "kind", [](const shm::SegmentInfo& s) { return std::string(shm::kind_name(s.kind)); }, "'value' or 'array'.")
      .def_readonly("length", &shm::SegmentInfo::length, "Number of elements (1 for a Value).")
      .def_readonly("element_size", &shm::SegmentInfo::element_size, "Bytes per element.")
      .def_readonly("data_offset", &shm::SegmentInfo::data_offset, "Offset of element 0 in the mapping.")
      .def_readonly("size_bytes", &shm::SegmentInfo::size_bytes, "length * element_size.")
      .def_readonly("mapping_bytes", &shm::SegmentInfo::mapping_bytes, "The whole memfd: header plus data.")
      .def_readonly("refcount", &shm::SegmentInfo::refcount, "Live references, holds included.")
      .def_readonly("holds", &shm::SegmentInfo::holds, "References shmd keeps for holds until claimed or expired.")
      .def_readonly("uid", &shm::SegmentInfo::uid, "Creator's user id.")
      .def_readonly("gid", &shm::SegmentInfo::gid, "Creator's group id.")
      .def_readonly("creator_pid", &shm::SegmentInfo::creator_pid, "Creator's process id.")
      .def_readonly("mode", &shm::SegmentInfo::mode, "Permission bits, e.g. 0o600.")
      .def_readonly("ephemeral", &shm::SegmentInfo::ephemeral, "Removed when the last reference goes.")
      .def_readonly("removed", &shm::SegmentInfo::removed, "The name is gone; the memory lives until the last detach.")
      .def_property_readonly("created", &created_of, "Creation time, an aware UTC datetime.")
      .def("to_dict", &to_dict, "Every field, as a dict.")
      .def("__eq__",
           [](const py::object& self, const py::object& other) -> py::object {
             if (!py::isinstance<shm::SegmentInfo>(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
             return py::bool_(to_dict(self).equal(to_dict(other)));
           })
      .def("__repr__", [](const py::object& self) {
        std::string r = "SegmentInfo(";
        bool first = true;
        for (const char* f : kFields) {
          if (!first) r += ", ";
          first = false;
          r += f;
          r += '=';
          py::object v = self.attr(f);
          r += std::string(f) == "mode" ? py::str(py::module_::import("builtins").attr("oct")(v)).cast<std::string>()
                                        : py::repr(v).cast<std::string>();
        }
        return r + ")";
      });
}

}  // namespace shmd_py
