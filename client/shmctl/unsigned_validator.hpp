#pragma once
/// A CLI11 check that rejects negative numbers for unsigned options.

#include <string>

#include <CLI/CLI.hpp>

namespace shmctl {

/// CLI11 would wrap "-1" into a huge unsigned value; this turns it into a usage error instead.
inline CLI::Validator no_minus_sign() {
  return CLI::Validator(
      [](const std::string& text) {
        return text.starts_with('-') ? std::string("must not be negative") : std::string();
      },
      "", "no_minus_sign");
}

}  // namespace shmctl
