#pragma once
/// TypedHandle<H>: one of H<char>, H<signed char>, ... H<double>, chosen by a segment's typecode.

#include <utility>
#include <variant>

#include "element_codec.hpp"
#include "shm/segment.hpp"

namespace shmd_py {

/// A typed libshmclient handle (shm::Value<T> or shm::Array<T>) for every element type.
template <template <class> class H>
using TypedHandle =
    std::variant<H<char>, H<signed char>, H<unsigned char>, H<wchar_t>, H<short>, H<unsigned short>, H<int>,
                 H<unsigned int>, H<long>, H<unsigned long>, H<long long>, H<unsigned long long>, H<float>, H<double>>;

/// Wraps `segment` in the H<T> of its typecode.
template <template <class> class H>
TypedHandle<H> make_typed(shm::Segment segment) {
  return with_element_type(segment.typecode(),
                           [&]<class T>(std::type_identity<T>) -> TypedHandle<H> { return H<T>(std::move(segment)); });
}

/// The untyped segment under any alternative.
template <template <class> class H>
// std::visit throws only on a valueless variant, and a handle is never one (its alternatives'
// moves do not throw).
shm::Segment& segment_of(TypedHandle<H>& handle) noexcept {  // NOLINT(bugprone-exception-escape)
  return std::visit([](auto& h) -> shm::Segment& { return h.segment(); }, handle);
}

}  // namespace shmd_py
