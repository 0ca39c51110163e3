#pragma once
/// The body of the client-side fuzz target (shmd-client-fuzz), shared with the corpus replay.

#include <cstddef>
#include <cstdint>

/// Runs libshmclient against a fake daemon on a temporary socket. `data[0]` says how many of the
/// following bytes are client operations (create, attach, info, list, remove, chmod, detach,
/// touching the mapped bytes); the rest scripts the daemon, which answers each request honestly
/// (a real RequestHandler) or not: wrong request ids, no fd, extra fds, an fd of the wrong size
/// or kind, a header that disagrees with SegmentInfo, bodies of the wrong kind, raw bytes, a
/// closed connection. Aborts if the client leaks an fd or waits out its reply timeout; ASan and
/// UBSan catch the rest. Always returns 0.
int shm_client_fuzz_one(const std::uint8_t* data, std::size_t size);
