#pragma once
// Wall-clock seconds since the Unix epoch, as the databases' *_unix columns store them.

#include <chrono>
#include <cstdint>

namespace ppi {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ppi
