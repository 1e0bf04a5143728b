#pragma once
// Timing shared by the benchmarks.
#include <algorithm>
#include <chrono>
#include <functional>

namespace ppi::bench {

// The fastest of `reps` runs of f, in seconds.
inline double best_seconds(int reps, const std::function<void()>& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  return best;
}

}  // namespace ppi::bench
