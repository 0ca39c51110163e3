#pragma once
/// A bare memfd, the raw shared memory the references use.

#include <cstddef>

#include "shm/unique_fd.hpp"

namespace shm::bench {

/// A new memfd of `size` zeroed bytes: the same shmem backing as MAP_SHARED|MAP_ANONYMOUS, but
/// with a descriptor, so an exec'd worker can map it. Throws std::system_error on failure.
UniqueFd make_memfd(std::size_t size);

/// The memfd shmd's daemon makes for a one-element Value, made by the same four calls:
/// memfd_create (sealable), fchmod 0600, a pwritev of its whole file (the 128-byte header, which
/// holds the value), F_ADD_SEALS (shrink, grow, seal). The least a broker of sealed memfds does
/// per create. Throws std::system_error on failure.
UniqueFd make_value_memfd();

/// The size of the file behind `fd`; throws std::system_error on failure.
std::size_t file_size(int fd);

}  // namespace shm::bench
