#pragma once
/// libshmclient: everything a program needs to use shmd segments.

// The headers use std::span and other C++20 library parts; without C++20 the first error would be
// about one of them, deep inside a header, rather than about the flag. The headers are then left
// out, so that this is the only error they cause.
#if __cplusplus < 202002L
#error \
    "libshmclient needs C++20: compile with -std=c++20 (or -std=gnu++20); CMake's shmclient::shmclient targets add it themselves"
#else

#include "shm/array.hpp"
#include "shm/client.hpp"
#include "shm/error.hpp"
#include "shm/event.hpp"
#include "shm/lock_guard.hpp"
#include "shm/segment.hpp"
#include "shm/segment_handle.hpp"
#include "shm/segment_info.hpp"
#include "shm/subscription.hpp"
#include "shm/typecode.hpp"
#include "shm/value.hpp"
#endif  // C++20
