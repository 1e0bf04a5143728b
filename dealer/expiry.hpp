#pragma once
// Expires bound batches on time (issue 14 item 4): every interval the dealer retires the bound
// batches whose batch.ttl_seconds have passed (DealerStore::expire_due), so that one-time
// material nobody fetched does not stay on disk until someone next asks for it.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "dealer/dealer_store.hpp"

namespace ppi::dealer {

class ExpirySweeper {
 public:
  // Starts at once; `store` must outlive the sweeper.
  ExpirySweeper(DealerStore& store, std::chrono::seconds interval);
  ~ExpirySweeper();
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

  void stop();

 private:
  void run();

  DealerStore& store_;
  std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ppi::dealer
