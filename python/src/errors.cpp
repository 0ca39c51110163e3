#include "errors.hpp"

#include <array>
#include <exception>

#include "shm/error.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// One Python exception class: the shm::Errc it stands for, its name, and the builtin exception
/// it also is, so that `except FileNotFoundError` catches a missing segment.
struct ErrorClass {
  shm::Errc code;         ///< the error it is raised for
  const char* errc_name;  ///< the Errc's name, which `.code` carries
  const char* name;       ///< class name inside module shmd
  PyObject* builtin;      ///< the builtin base besides shmd.Error, or nullptr
  PyObject* type;         ///< the class, once created
};

/// shmd.Error, once created. Kept for the life of the process, as the module keeps it.
PyObject* g_error = nullptr;

/// Every Errc and its class (ConnectionLostError is made a DaemonUnavailableError below).
std::array<ErrorClass, 15>& classes() {
  static std::array<ErrorClass, 15> table = {{
      {shm::Errc::invalid_argument, "invalid_argument", "InvalidArgumentError", PyExc_ValueError, nullptr},
      {shm::Errc::not_found, "not_found", "NotFoundError", PyExc_FileNotFoundError, nullptr},
      {shm::Errc::already_exists, "already_exists", "ExistsError", PyExc_FileExistsError, nullptr},
      {shm::Errc::permission_denied, "permission_denied", "PermissionDeniedError", PyExc_PermissionError, nullptr},
      {shm::Errc::limit_exceeded, "limit_exceeded", "LimitExceededError", nullptr, nullptr},
      {shm::Errc::protocol_error, "protocol_error", "ProtocolError", nullptr, nullptr},
      {shm::Errc::version_mismatch, "version_mismatch", "VersionMismatchError", nullptr, nullptr},
      {shm::Errc::type_mismatch, "type_mismatch", "TypeMismatchError", PyExc_TypeError, nullptr},
      {shm::Errc::not_attached, "not_attached", "NotAttachedError", nullptr, nullptr},
      {shm::Errc::internal, "internal", "InternalError", nullptr, nullptr},
      {shm::Errc::daemon_unavailable, "daemon_unavailable", "DaemonUnavailableError", PyExc_ConnectionError, nullptr},
      {shm::Errc::connection_lost, "connection_lost", "ConnectionLostError", nullptr, nullptr},
      {shm::Errc::corrupt_segment, "corrupt_segment", "CorruptSegmentError", nullptr, nullptr},
      {shm::Errc::lock_unrecoverable, "lock_unrecoverable", "LockUnrecoverableError", nullptr, nullptr},
      {shm::Errc::system_error, "system_error", "SystemCallError", PyExc_OSError, nullptr},
  }};
  return table;
}

/// The class entry for `code`, or nullptr for a code of another category.
const ErrorClass* class_of(const std::error_code& code) {
  if (code.category() != shm::shm_category()) return nullptr;
  for (const auto& c : classes())
    if (static_cast<int>(c.code) == code.value()) return &c;
  return nullptr;
}

/// Sets the Python error for `code`: an instance of its class, carrying `.code`.
void set_python_error(const std::error_code& code, const char* message) {
  const ErrorClass* c = class_of(code);
  if (c == nullptr) {
    // Not an shm code (errno from the system, say): Python's OSError with that errno.
    auto err = py::reinterpret_steal<py::object>(PyObject_CallFunction(PyExc_OSError, "is", code.value(), message));
    if (err) PyErr_SetObject(PyExc_OSError, err.ptr());
    return;
  }
  auto err = py::reinterpret_steal<py::object>(PyObject_CallFunction(c->type, "s", message));
  if (!err) return;  // the call set its own error
  if (PyObject_SetAttrString(err.ptr(), "code", py::str(c->errc_name).ptr()) != 0) return;
  PyErr_SetObject(c->type, err.ptr());
}

/// A new exception class `shmd.<name>` with `bases`, added to `m`.
PyObject* new_class(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("shmd.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module holds a reference; so does `type` for good
  return type;
}

}  // namespace

void register_errors(py::module_& m) {
  g_error = new_class(m, "Error",
                      "Base of every shmd error. `.code` is the shm::Errc name (e.g. 'not_found'); "
                      "str() is the explanation, the daemon's where it came from the daemon.",
                      py::make_tuple(py::handle(PyExc_Exception)));
  PyObject* unavailable = nullptr;
  for (auto& c : classes()) {
    py::tuple bases;
    if (c.code == shm::Errc::connection_lost)
      bases = py::make_tuple(py::handle(unavailable));  // also an Error and a ConnectionError
    else if (c.builtin != nullptr)
      bases = py::make_tuple(py::handle(g_error), py::handle(c.builtin));
    else
      bases = py::make_tuple(py::handle(g_error));
    const std::string doc = std::string("shmd error for shm::Errc::") + c.errc_name + ".";
    c.type = new_class(m, c.name, doc.c_str(), bases);
    if (c.code == shm::Errc::daemon_unavailable) unavailable = c.type;
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const shm::Error& e) {
      set_python_error(e.code(), e.what());
    }
  });
}

void throw_error(std::error_code code, const std::string& message) { throw shm::Error(code, message); }

}  // namespace shmd_py
