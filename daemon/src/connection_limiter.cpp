#include "shmd/connection_limiter.hpp"

namespace shmd {

ConnectionLimiter::Slot::~Slot() {
  if (owner_) owner_->release(uid_);
}

shm::Result<ConnectionLimiter::Slot> ConnectionLimiter::admit(uid_t uid) {
  if (active_ >= total_)
    return shm::fail(shm::Errc::limit_exceeded,
                     "the daemon holds max-connections (" + std::to_string(total_) + ") connections already");
  std::size_t& mine = by_uid_[uid];
  if (uid != 0 && mine >= per_uid_) {
    if (mine == 0) by_uid_.erase(uid);
    return shm::fail(shm::Errc::limit_exceeded, "uid " + std::to_string(uid) + " holds max-connections-per-uid (" +
                                                    std::to_string(per_uid_) + ") connections already");
  }
  ++mine;
  ++active_;
  return Slot(shared_from_this(), uid);
}

void ConnectionLimiter::release(uid_t uid) noexcept {
  --active_;
  if (auto it = by_uid_.find(uid); it != by_uid_.end() && --it->second == 0) by_uid_.erase(it);
}

}  // namespace shmd
