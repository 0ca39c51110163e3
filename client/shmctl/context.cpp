#include "context.hpp"

#include <ostream>
#include <utility>

namespace shmctl {

Context::Context(std::string socket_path, std::ostream& out, std::ostream& err)
    : socket_path_(std::move(socket_path)), out_(out), err_(err) {}

shm::Client& Context::client() {
  if (!client_) {
    std::error_code ec;
    shm::Client client(socket_path_, ec);
    if (ec) throw failure(ec, "connecting to shmd at " + socket_path_);
    client_.emplace(std::move(client));
  }
  return *client_;
}

CommandError Context::failure(const std::error_code& ec, std::string_view what) const {
  return shmctl::failure(ec, what, socket_path_);
}

void Context::report(std::string_view message) const { err_ << "shmctl: " << message << '\n'; }

}  // namespace shmctl
