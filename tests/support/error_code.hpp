#pragma once
// The Errc that a call throws, or nullopt when it does not throw a ppi::Error; error_message:
// the message of the ppi::Error it throws, or "(no error)".
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace ppi::test {

inline std::optional<Errc> error_code(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace ppi::test
