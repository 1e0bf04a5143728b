#pragma once
// How a loop that keeps failing (the pool keeper's pass while its database is down) waits and
// logs: the delay doubles from the loop's interval up to a cap, and one log line per failure
// then comes at most once per (growing) delay, with the count of failures so far, instead of
// one every interval. A success resets it.

#include <chrono>
#include <cstdint>

namespace ppi::obs {

class FailureBackoff {
 public:
  using ms = std::chrono::milliseconds;
  FailureBackoff(ms interval, ms cap)
      : interval_(interval), cap_(cap < interval ? interval : cap) {}

  struct Step {
    ms delay;                // wait this long before trying again
    std::uint64_t failures;  // consecutive failures, this one included
  };
  // Records a failure: the wait before the next try is interval * 2^(failures - 1), at most
  // the cap.
  Step failed();
  // Records a success; returns the failures it ended (0 when there were none).
  std::uint64_t succeeded();
  // The wait before the next try: the interval while nothing fails.
  ms delay() const { return failures_ == 0 ? interval_ : current_; }

 private:
  ms interval_, cap_;
  ms current_{0};
  std::uint64_t failures_ = 0;
};

}  // namespace ppi::obs
