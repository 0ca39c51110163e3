#pragma once
/// Python's exceptions for shm errors: the one place an shm::Errc becomes a Python exception.

#include <pybind11/pybind11.h>

#include <string>
#include <system_error>

namespace shmd_py {

/// Creates shmd.Error and its subclasses in `m`, and translates every shm::Error that leaves a
/// binding into the class of its code (with `.code`, the Errc's name, and the message).
void register_errors(pybind11::module_& m);

/// Throws shm::Error for `code` (an shm::Errc) with `message`; the translator turns it into the
/// matching Python exception.
[[noreturn]] void throw_error(std::error_code code, const std::string& message);

}  // namespace shmd_py
