#pragma once
/// libshmclient: everything a program needs to use shmd segments.

#include "shm/array.hpp"
#include "shm/client.hpp"
#include "shm/error.hpp"
#include "shm/lock_guard.hpp"
#include "shm/segment.hpp"
#include "shm/segment_info.hpp"
#include "shm/typecode.hpp"
#include "shm/value.hpp"
