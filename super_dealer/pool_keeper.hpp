#pragma once
// Continuous generation: a background thread of the super dealer that keeps, for every pool
// (model, group), between triple_pool.min_size and max_size available batches.
//
// Each pass:
//  0. the bindings a previous run committed without telling every dealer (found once, at
//     construction: docs/protocol.md, Reconciliation) are told again, until every dealer took
//     each or one refused it (then the batch is failed);
//  1. every batch 'generating' in the registry is checked on each member
//     (GET /v1/generations/{id}): all 'prepared' -> the batch becomes available (the commit
//     point of the two phases); one 'failed' or unknown, or the generation timeout passed ->
//     the batch is failed; a generation that cannot be checked is skipped for this pass,
//     never stopping the others nor the refills;
//  2. a pool whose model has a mask plan gets its mask set generated when it has none (or only
//     failed ones): one per (model, group), kind 'mask_set', the mask plan as its plan;
//  3. a pool below min_size starts refilling: new generations (POST /v1/generations on every
//     member, at most triple_pool.concurrency at once, with the model's mask plan if it has
//     one) until max_size batches are available or being generated. After a failure the pool
//     waits triple_pool.retry_ms;
//  4. every failed batch whose dealers were not all told (a failed generation, a binding a
//     dealer could not take, here or in a previous run) is told to every dealer of its group,
//     which fails its copy and deletes its material; a dealer that cannot be reached (its
//     database down) is told again on later passes, so no failed batch keeps material.
// A pass that fails as a whole (the registry's database is down) is retried after a delay that
// doubles up to 30 s, and logged once per retry with the count (obs/failure_backoff.hpp).
// Metrics (obs/catalog.hpp): pool sizes per state, generations started/available/failed,
// generation seconds, failed passes.
// The state lives in the database, so a restarted super dealer picks up where it stopped.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "dealer/api.hpp"
#include "net/http_client.hpp"
#include "super_dealer/group_registry.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

struct PoolSettings {
  std::int64_t min_size = 2, max_size = 4, concurrency = 1;
  std::chrono::milliseconds interval{500}, retry_delay{2000};
  std::chrono::seconds generation_timeout{600};
};

class PoolKeeper {
 public:
  PoolKeeper(std::shared_ptr<RegistryStore> registry, std::shared_ptr<GroupRegistry> groups,
             net::ClientOptions dealer_client, PoolSettings settings);
  ~PoolKeeper();

  void start();
  void stop();

 private:
  void run();
  void pass();
  void retell(const UntoldBinding& b);
  void check(const Generation& g);
  void refill(const PoolRecord& pool);
  // Records a generation of `kind` and asks every member for it (`request` without the ids
  // and members); false, with the generation failed, if one member refused.
  bool start_generation(const PoolRecord& pool, const std::string& kind,
                        dealer::api::GenerationRequest request,
                        const std::vector<DealerRecord>& dealers);
  void fail(const Generation& g, const std::string& reason);
  // Tells every dealer of a failed batch to fail its copy (POST /v1/batches/{id}/fail); once
  // each took it or refused it for good, the registry records them told.
  void tell_failure(const UntoldFailure& f);
  std::vector<DealerRecord> members(const std::string& group_id);
  // For ppi_generation_seconds: how long ago g started (forgetting it).
  double seconds_since_start(const Generation& g);

  std::shared_ptr<RegistryStore> registry_;
  std::shared_ptr<GroupRegistry> groups_;
  net::ClientOptions client_;
  PoolSettings settings_;
  std::vector<UntoldBinding> untold_;
  std::set<std::pair<std::string, std::string>> refilling_;
  std::map<std::string, std::chrono::steady_clock::time_point> started_;  // by batch id
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> paused_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ppi::super_dealer
