#include "dealer/expiry.hpp"

#include "obs/log.hpp"

namespace ppi::dealer {

ExpirySweeper::ExpirySweeper(DealerStore& store, std::chrono::seconds interval)
    : store_(store), interval_(interval), thread_([this] { run(); }) {}

ExpirySweeper::~ExpirySweeper() {
  stop();
}

void ExpirySweeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExpirySweeper::run() {
  // A database that is down is tried again at the next interval.
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [&] { return stopping_; })) return;
    }
    try {
      store_.expire_due();
    } catch (const std::exception& e) {
      log::warn("batch_expiry_failed", {{"reason", e.what()}});
    }
  }
}

}  // namespace ppi::dealer
