#include "obs/failure_backoff.hpp"

#include <algorithm>

namespace ppi::obs {

FailureBackoff::Step FailureBackoff::failed() {
  ++failures_;
  current_ = failures_ == 1 ? interval_ : std::min(cap_, current_ * 2);
  return {current_, failures_};
}

std::uint64_t FailureBackoff::succeeded() {
  const auto ended = failures_;
  failures_ = 0;
  current_ = ms{0};
  return ended;
}

}  // namespace ppi::obs
