#pragma once
// Expires bound batches on time (issue 14 item 4): every interval the dealer retires the bound
// batches whose batch.ttl_seconds have passed (DealerStore::expire_due), so that one-time
// material nobody fetched does not stay on disk until someone next asks for it.

#include <chrono>

#include "core/periodic.hpp"
#include "dealer/dealer_store.hpp"

namespace ppi::dealer {

class ExpirySweeper {
 public:
  // Starts at once; `store` must outlive the sweeper.
  ExpirySweeper(DealerStore& store, std::chrono::seconds interval)
      : task_("batch_expiry", interval, [&store] { store.expire_due(); }) {}

  void stop() { task_.stop(); }

 private:
  Periodic task_;
};

}  // namespace ppi::dealer
