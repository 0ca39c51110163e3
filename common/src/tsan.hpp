#pragma once
// SHM_TSAN: 1 in a ThreadSanitizer build. Private to common/src (the lock's files).

// ThreadSanitizer: GCC defines __SANITIZE_THREAD__, clang has __has_feature.
#if defined(__SANITIZE_THREAD__)
#define SHM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHM_TSAN 1
#endif
#endif
#ifndef SHM_TSAN
#define SHM_TSAN 0
#endif
