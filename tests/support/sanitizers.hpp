#pragma once
/// Which sanitizer this test binary was built with (the tsan and asan presets): SHM_TEST_TSAN and
/// SHM_TEST_ASAN for the preprocessor (a definition only TSan may see), kUnderThreadSanitizer and
/// kUnderAddressSanitizer for code, for the few checks that measure the machine rather than the
/// code: a sanitizer changes how long a critical section lasts and what memory stays resident.

#if defined(__SANITIZE_THREAD__)
#define SHM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHM_TEST_TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SHM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHM_TEST_ASAN 1
#endif
#endif

namespace shm::test {

#ifdef SHM_TEST_TSAN
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

#ifdef SHM_TEST_ASAN
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace shm::test
