#pragma once
/// Pipe: both ends of one pipe(2), each owned.

#include "shm/unique_fd.hpp"

namespace shm::bench {

/// A close-on-exec pipe; either end may be handed to a child (ChildProcess maps it to a fixed fd).
struct Pipe {
  UniqueFd read;   ///< the read end
  UniqueFd write;  ///< the write end

  /// Opens a new pipe; throws std::system_error on failure.
  static Pipe open();
};

/// Writes all of `size` bytes at `data` to `fd`; throws std::system_error on failure.
void write_all(int fd, const void* data, std::size_t size);
/// Reads exactly `size` bytes into `data`; false on end of file first; throws on error.
bool read_exact(int fd, void* data, std::size_t size);

}  // namespace shm::bench
