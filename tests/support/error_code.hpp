#pragma once
// The Errc that a call throws, or nullopt when it does not throw a ppi::Error.
#include <functional>
#include <optional>

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

}  // namespace ppi::test
