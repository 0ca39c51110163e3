#include "element_access.hpp"

#include <atomic>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "shm/error.hpp"
#include "shm/typecode.hpp"

namespace shmctl {
namespace {

/// shm::visit_typecode over a segment's typecode: one not in the table means the segment is corrupt.
template <class F>
void with_element_type(char typecode, F&& f) {
  shm::visit_typecode(typecode, std::forward<F>(f), [typecode] {
    throw shm::Error(make_error_code(shm::Errc::corrupt_segment),
                     "segment has unknown typecode '" + std::string(1, typecode) + "'");
  });
}

}  // namespace

std::vector<std::byte> read_elements(const shm::Segment& segment) {
  const std::span<std::byte> shared = segment.bytes();
  std::vector<std::byte> copy(shared.size());
  with_element_type(segment.typecode(), [&]<class T>(std::type_identity<T>) {
    // The mapping's data starts 64-byte aligned, so every element is naturally aligned. A
    // lock-free load never writes, so it works on a PROT_READ mapping.
    static_assert(std::atomic_ref<T>::is_always_lock_free);
    T* elements = reinterpret_cast<T*>(shared.data());
    for (std::size_t i = 0; i < shared.size() / sizeof(T); ++i) {
      const T v = std::atomic_ref<T>(elements[i]).load(std::memory_order_relaxed);
      std::memcpy(copy.data() + i * sizeof(T), &v, sizeof(T));
    }
  });
  return copy;
}

void write_elements(shm::Segment& segment, std::size_t first, std::span<const std::byte> data, bool& owner_died) {
  const shm::LockGuard guard = segment.lock();
  owner_died = guard.owner_died();
  with_element_type(segment.typecode(), [&]<class T>(std::type_identity<T>) {
    T* elements = reinterpret_cast<T*>(segment.bytes().data()) + first;
    for (std::size_t i = 0; i < data.size() / sizeof(T); ++i) {
      T v;
      std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
      std::atomic_ref<T>(elements[i]).store(v, std::memory_order_relaxed);
    }
  });
}

}  // namespace shmctl
