#pragma once
/// SpawnFileActions: sole owner of one posix_spawn_file_actions_t.

#include <spawn.h>

#include <system_error>

namespace shm {

/// Owns a posix_spawn_file_actions_t and destroys it on scope exit. Every call that can fail
/// throws std::system_error. Not copyable or movable (glibc's object must stay where it was made).
class SpawnFileActions {
 public:
  /// Empty actions.
  SpawnFileActions() { check(::posix_spawn_file_actions_init(&actions_), "posix_spawn_file_actions_init"); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&actions_); }

  /// In the child, make `to` a duplicate of `from` (dup2 clears FD_CLOEXEC, so `to` is inherited).
  void add_dup2(int from, int to) {
    check(::posix_spawn_file_actions_adddup2(&actions_, from, to), "posix_spawn_file_actions_adddup2");
  }
  /// In the child, open `path` as descriptor `fd`.
  void add_open(int fd, const char* path, int flags, mode_t mode = 0) {
    check(::posix_spawn_file_actions_addopen(&actions_, fd, path, flags, mode), "posix_spawn_file_actions_addopen");
  }
  /// The actions, for posix_spawn and the calls not wrapped here.
  [[nodiscard]] posix_spawn_file_actions_t* get() noexcept { return &actions_; }

 private:
  static void check(int err, const char* what) {
    if (err != 0) throw std::system_error(err, std::generic_category(), what);
  }
  posix_spawn_file_actions_t actions_{};  ///< the owned actions
};

}  // namespace shm
