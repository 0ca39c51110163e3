#pragma once
/// Sending and receiving file descriptors over a Unix stream socket (SCM_RIGHTS).

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

#include "shm/unique_fd.hpp"

namespace shm::wire {

/// Most descriptors accepted in one received control message; extras are closed.
inline constexpr std::size_t kMaxFdsPerMessage = 4;

/// One `sendmsg` of `bytes` on `socket`, with `fd` attached as SCM_RIGHTS when it is >= 0.
/// Returns the bytes sent (possibly fewer than asked: send the rest without the fd).
/// Uses MSG_NOSIGNAL. Sets `ec` (e.g. EAGAIN as `std::errc::resource_unavailable_try_again`) on failure.
std::size_t send_with_fd(int socket, std::span<const std::byte> bytes, int fd, std::error_code& ec) noexcept;

/// One `recvmsg` into `buffer` on `socket`; descriptors that arrive are appended to `fds`
/// (opened with MSG_CMSG_CLOEXEC). Returns bytes read; 0 means the peer closed.
std::size_t recv_with_fds(int socket, std::span<std::byte> buffer, std::vector<UniqueFd>& fds, std::error_code& ec);

}  // namespace shm::wire
