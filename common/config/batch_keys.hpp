#pragma once
// The keys of a batch's lifetime, the same on the dealers and the model owner (issue 14 item 4):
// both expire one-time material nobody used on their own, at the same age.

#include <vector>

#include "config/config.hpp"

namespace ppi::config {

inline std::vector<KeySpec> batch_expiry_keys() {
  return {
      integer_key("batch.expiry_interval_seconds", 60, 1, 24 * 3600,
                  "how often batches whose batch.ttl_seconds have passed unused are expired "
                  "(their material deleted, their record kept)"),
      integer_key("batch.ttl_seconds", 3600, 1, 30 * 24 * 3600,
                  "how long a bound batch may wait for its use before it expires"),
  };
}

// `keys` and the batch expiry keys.
inline std::vector<KeySpec> with_batch_expiry_keys(std::vector<KeySpec> keys) {
  for (auto& k : batch_expiry_keys()) keys.push_back(std::move(k));
  return keys;
}

}  // namespace ppi::config
