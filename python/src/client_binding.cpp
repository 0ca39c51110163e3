#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "bound_array.hpp"
#include "bound_subscription.hpp"
#include "bound_value.hpp"
#include "element_codec.hpp"
#include "errors.hpp"
#include "shm/shm.hpp"

namespace py = pybind11;

namespace shmd_py {
namespace {

/// The bytes of `elements`.
template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& elements) {
  std::vector<std::byte> out(elements.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), elements.data(), out.size());
  return out;
}

/// Permission bits from Python: an int that fits (the daemon checks the bits themselves).
std::uint32_t mode_from_python(std::int64_t mode) {
  if (mode < 0 || mode > 0xFFFFFFFFLL)
    throw py::value_error("mode " + std::to_string(mode) + " is not permission bits such as 0o640");
  return static_cast<std::uint32_t>(mode);
}

}  // namespace

std::int64_t poll_window_from_python(std::int64_t microseconds) {
  if (microseconds < 0)
    throw py::value_error("a busy-poll window is 0 or more microseconds, not " + std::to_string(microseconds));
  return microseconds;
}

namespace {

/// A socket argument: None (the default socket), or a str or os.PathLike.
std::string socket_from_python(const py::object& socket) {
  if (socket.is_none()) return shm::default_socket_path();
  return py::str(py::module_::import("os").attr("fsdecode")(socket));
}

/// One element from `value` (None: zero) as bytes.
std::vector<std::byte> value_bytes(char typecode, py::handle value) {
  return with_element_type(typecode, [&]<class T>(std::type_identity<T>) {
    return bytes_of(std::vector<T>{value.is_none() ? T{} : element_from_python<T>(value)});
  });
}

/// Every element of a sequence or buffer as bytes; their number in `length`.
std::vector<std::byte> sequence_bytes(char typecode, py::handle items, std::uint64_t& length) {
  return with_element_type(typecode, [&]<class T>(std::type_identity<T>) {
    const std::vector<T> v = sequence_elements<T>(items, -1);
    length = v.size();
    return bytes_of(v);
  });
}

/// What attach_value/attach_array and claim_value/claim_array share: `fetch(mode)` gets the
/// segment (attach() or claim(), with the GIL released), then the segment must be of `kind`
/// and, if a typecode is given, hold elements of that type, the checks C++'s typed attach_value
/// and claim_value make. A refused segment is dropped again (for a claim, its hold is spent).
template <class Fetch>
shm::Segment fetch_checked(const std::string& name, const py::object& typecode, bool read_only, shm::Kind kind,
                           std::string_view verb, Fetch fetch) {
  const char wanted = typecode.is_none() ? '\0' : typecode_from_python(typecode);
  shm::Segment s;
  {
    py::gil_scoped_release nogil;
    s = fetch(read_only ? shm::AccessMode::read_only : shm::AccessMode::read_write);
  }
  const shm::Kind have = s.info().kind;
  if (have != kind)
    throw_error(shm::Errc::type_mismatch, "segment '" + name + "' is " + std::string(shm::kind_with_article(have)) +
                                              "; use " + std::string(verb) + "_" + std::string(shm::kind_name(have)));
  if (wanted != '\0' && !with_element_type(wanted, [&]<class T>(std::type_identity<T>) {
        return shm::typecode_accepts<T>(s.typecode());
      }))
    throw_error(shm::Errc::type_mismatch, "segment '" + name + "' is " + std::string(shm::kind_title(have)) + " '" +
                                              std::string(1, s.typecode()) + "'; it cannot be attached as " +
                                              std::string(shm::kind_title(kind)) + " '" + std::string(1, wanted) + "'");
  return s;
}

/// Attaches by name (see fetch_checked).
shm::Segment attach(shm::Client& client, const std::string& name, const py::object& typecode, bool read_only,
                    shm::Kind kind) {
  return fetch_checked(name, typecode, read_only, kind, "attach",
                       [&](shm::AccessMode mode) { return client.attach(name, mode); });
}

/// Claims a hold by name and token (see fetch_checked).
shm::Segment claim(shm::Client& client, const std::string& name, std::uint64_t token, const py::object& typecode,
                   bool read_only, shm::Kind kind) {
  return fetch_checked(name, typecode, read_only, kind, "claim",
                       [&](shm::AccessMode mode) { return client.claim(name, token, mode); });
}

/// Creates (nothing else touches Python meanwhile, so the GIL is released).
shm::Segment create(shm::Client& client, const std::string& name, const shm::SegmentSpec& spec) {
  py::gil_scoped_release nogil;
  return client.create(name, spec);
}

}  // namespace

void bind_client(py::module_& m) {
  using shm::Client;
  py::class_<Client>(m, "Client",
                     "A connection to shmd. Cheap to share between threads; every call that waits for "
                     "the daemon releases the GIL.")
      .def(py::init([](const py::object& socket) {
             std::string path = socket_from_python(socket);
             py::gil_scoped_release nogil;
             return std::make_unique<Client>(path);
           }),
           py::arg("socket") = py::none(),
           "Connects to the daemon at `socket` (None: $SHMD_SOCKET, else /run/shmd/shmd.sock); "
           "DaemonUnavailableError (a ConnectionError) naming the socket if it cannot be reached.")
      .def_property_readonly("socket_path", &Client::socket_path, "The socket this client talks to.")
      .def(
          "create_value",
          [](Client& c, const std::string& name, const py::object& typecode, const py::object& value, std::int64_t mode,
             bool ephemeral, bool open_existing) {
            const char tc = typecode_from_python(typecode);
            const std::vector<std::byte> initial = value_bytes(tc, value);
            const shm::SegmentSpec spec{
                tc, shm::Kind::value, 1, initial, {mode_from_python(mode), ephemeral, open_existing}};
            return std::make_unique<BoundValue>(create(c, name, spec));
          },
          py::arg("name"), py::arg("typecode"), py::arg("value") = py::none(), py::kw_only(), py::arg("mode") = 0600,
          py::arg("ephemeral") = false, py::arg("open_existing") = false,
          "Creates a Value holding `value` (None: zero); with open_existing, opens one of that name and type.")
      .def(
          "create_array",
          [](Client& c, const std::string& name, const py::object& typecode, const py::object& size_or_initializer,
             std::int64_t mode, bool ephemeral, bool open_existing) {
            const char tc = typecode_from_python(typecode);
            shm::SegmentSpec spec{tc, shm::Kind::array, 0, {}, {mode_from_python(mode), ephemeral, open_existing}};
            std::vector<std::byte> initial;
            if (PyLong_Check(size_or_initializer.ptr())) {
              const auto n = size_or_initializer.cast<long long>();
              if (n < 0) throw py::value_error("Array length " + std::to_string(n) + " is negative");
              spec.length = static_cast<std::uint64_t>(n);
            } else {
              initial = sequence_bytes(tc, size_or_initializer, spec.length);
              spec.initial = initial;
            }
            return std::make_unique<BoundArray>(create(c, name, spec));
          },
          py::arg("name"), py::arg("typecode"), py::arg("size_or_initializer"), py::kw_only(), py::arg("mode") = 0600,
          py::arg("ephemeral") = false, py::arg("open_existing") = false,
          "Creates an Array of that many zeroed elements, or holding the given sequence's elements.")
      .def(
          "attach_value",
          [](Client& c, const std::string& name, const py::object& typecode, bool read_only) {
            return std::make_unique<BoundValue>(attach(c, name, typecode, read_only, shm::Kind::value));
          },
          py::arg("name"), py::arg("typecode") = py::none(), py::kw_only(), py::arg("read_only") = false,
          "Attaches to a Value (any typecode if None; else TypeMismatchError if it does not fit). "
          "read_only needs only the r bit.")
      .def(
          "attach_array",
          [](Client& c, const std::string& name, const py::object& typecode, bool read_only) {
            return std::make_unique<BoundArray>(attach(c, name, typecode, read_only, shm::Kind::array));
          },
          py::arg("name"), py::arg("typecode") = py::none(), py::kw_only(), py::arg("read_only") = false,
          "Attaches to an Array (any typecode if None; else TypeMismatchError if it does not fit).")
      .def(
          "create_detached",
          [](Client& c, const std::string& name, const py::object& typecode, const py::object& length,
             const py::object& initial, std::int64_t mode, bool open_existing) {
            const char tc = typecode_from_python(typecode);
            shm::SegmentSpec spec{tc, shm::Kind::value, 1, {}, {mode_from_python(mode), false, open_existing}};
            std::vector<std::byte> bytes;
            if (length.is_none()) {
              bytes = value_bytes(tc, initial);
            } else {
              const auto n = length.cast<long long>();
              if (n < 0) throw py::value_error("Array length " + std::to_string(n) + " is negative");
              spec.kind = shm::Kind::array;
              spec.length = static_cast<std::uint64_t>(n);
              if (!initial.is_none()) {
                std::uint64_t got = 0;
                bytes = sequence_bytes(tc, initial, got);
                if (got != spec.length)
                  throw py::value_error("initial holds " + std::to_string(got) + " elements for length " +
                                        std::to_string(n));
              }
            }
            spec.initial = bytes;
            py::gil_scoped_release nogil;
            return c.create_detached(name, spec);
          },
          py::arg("name"), py::arg("typecode"), py::arg("length") = py::none(), py::kw_only(),
          py::arg("initial") = py::none(), py::arg("mode") = 0600, py::arg("open_existing") = false,
          "Creates a segment without attaching (length None: a Value). Returns its SegmentInfo.")
      .def(
          "hold",
          [](Client& c, BoundSegment& obj, double seconds, bool from_close) {
            if (std::isnan(seconds) || seconds <= 0)
              throw py::value_error("a hold lasts a positive number of seconds, not " + std::to_string(seconds));
            if (seconds > 1e9) throw py::value_error("a hold of " + std::to_string(seconds) + " seconds is too long");
            const std::chrono::seconds grace(static_cast<long long>(std::ceil(seconds)));
            shm::Segment& seg = obj.live();
            const BusyMark busy(obj);  // detach() from another thread waits for the daemon's answer
            py::gil_scoped_release nogil;
            return c.hold(seg, grace, from_close ? shm::HoldStart::at_close : shm::HoldStart::now);
          },
          py::arg("obj"), py::arg("seconds") = 30, py::kw_only(), py::arg("from_close") = false,
          "Has the daemon keep one reference to obj's segment for `seconds` (rounded up) or until "
          "claimed, so it outlives every handle in between; with from_close, the seconds count from "
          "the close of this Client's connection, so the hold cannot expire while it is connected. "
          "Returns the token for claim_value/claim_array.")
      .def(
          "claim_value",
          [](Client& c, const std::string& name, std::uint64_t token, const py::object& typecode, bool read_only) {
            return std::make_unique<BoundValue>(claim(c, name, token, typecode, read_only, shm::Kind::value));
          },
          py::arg("name"), py::arg("token"), py::arg("typecode") = py::none(), py::kw_only(),
          py::arg("read_only") = false,
          "attach_value, also taking over the hold `token` names (if it is still live) instead of a new reference.")
      .def(
          "claim_array",
          [](Client& c, const std::string& name, std::uint64_t token, const py::object& typecode, bool read_only) {
            return std::make_unique<BoundArray>(claim(c, name, token, typecode, read_only, shm::Kind::array));
          },
          py::arg("name"), py::arg("token"), py::arg("typecode") = py::none(), py::kw_only(),
          py::arg("read_only") = false,
          "attach_array, also taking over the hold `token` names (if it is still live) instead of a new reference.")
      .def(
          "info", [](Client& c, const std::string& name) { return c.info(name); }, py::arg("name"),
          py::call_guard<py::gil_scoped_release>(), "The SegmentInfo of one segment (needs the r bit).")
      .def(
          "list", [](Client& c) { return c.list(); }, py::call_guard<py::gil_scoped_release>(),
          "Every live segment, sorted by name.")
      .def(
          "remove", [](Client& c, const std::string& name) { c.remove(name); }, py::arg("name"),
          py::call_guard<py::gil_scoped_release>(),
          "Removes the name now; the memory goes when the last reference is dropped.")
      .def(
          "chmod",
          [](Client& c, const std::string& name, std::int64_t mode) {
            const std::uint32_t bits = mode_from_python(mode);
            py::gil_scoped_release nogil;
            return c.chmod(name, bits);
          },
          py::arg("name"), py::arg("mode"), "Changes the permission bits (owner or root); returns the new SegmentInfo.")
      .def(
          "subscribe",
          [](Client& c, const std::string& prefix, bool attachments) {
            shm::Subscription s;
            {
              py::gil_scoped_release nogil;
              s = c.subscribe(shm::SubscribeOptions{.prefix = prefix, .attachments = attachments});
            }
            return std::make_unique<BoundSubscription>(std::move(s));
          },
          py::arg("prefix") = "", py::arg("attachments") = false,
          "A Subscription to the registry's events about segments named prefix... that this process may read "
          "(with attachments, also every reference change), on a connection of its own.")
      .def(
          "set_busy_poll",
          [](Client& c, std::int64_t microseconds) {
            c.set_busy_poll(std::chrono::microseconds(poll_window_from_python(microseconds)));
          },
          py::arg("microseconds"),
          "How long each wait for the daemon's reply polls before it sleeps (default 50; 0 turns it off; "
          "at most 10,000; off where the process may use one CPU only).")
      .def("__repr__", [](const Client& c) { return "<shmd.Client socket='" + c.socket_path() + "'>"; });
}

}  // namespace shmd_py
