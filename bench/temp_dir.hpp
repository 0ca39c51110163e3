#pragma once
/// TempDir: a private temporary directory, removed with everything in it.

#include <string>

namespace shm::bench {

/// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction. Move-less.
class TempDir {
 public:
  /// Creates the directory; throws std::system_error on failure.
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  /// The directory's path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;  ///< the created directory
};

}  // namespace shm::bench
