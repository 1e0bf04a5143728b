#include "super_dealer/pool_keeper.hpp"

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "crypto/uuid.hpp"
#include "dealer/api.hpp"
#include "net/json_call.hpp"
#include "obs/catalog.hpp"
#include "obs/failure_backoff.hpp"
#include "obs/log.hpp"
#include "super_dealer/dealer_calls.hpp"

namespace ppi::super_dealer {
namespace {

using net::http::verb;
using nlohmann::json;

// While passes fail as a whole (the registry's database is down), the keeper waits longer
// each time, up to this, instead of failing and logging every interval (issue 14 item 10).
constexpr std::chrono::milliseconds kMaxPassBackoff{30000};

}  // namespace

PoolKeeper::PoolKeeper(std::shared_ptr<RegistryStore> registry,
                       std::shared_ptr<GroupRegistry> groups, net::ClientOptions dealer_client,
                       PoolSettings settings)
    : registry_(std::move(registry)),
      groups_(std::move(groups)),
      client_(std::move(dealer_client)),
      settings_(settings) {
  if (settings_.min_size > settings_.max_size) {
    throw Error(Errc::config, "config triple_pool.min_size must not exceed triple_pool.max_size");
  }
  // Before any request is served, so every row found was left by a previous run; a binding of
  // this run is told (or failed) by its own request.
  untold_ = registry_->untold_bindings();
  if (!untold_.empty()) log::warn("bindings_untold", {{"batches", std::to_string(untold_.size())}});
}

PoolKeeper::~PoolKeeper() {
  stop();
}

void PoolKeeper::start() {
  thread_ = std::thread([this] { run(); });
}

void PoolKeeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PoolKeeper::run() {
  obs::FailureBackoff backoff(settings_.interval, kMaxPassBackoff);
  for (;;) {
    try {
      pass();
      if (const auto ended = backoff.succeeded()) {
        log::info("pool_pass_recovered", {{"failures", std::to_string(ended)}});
      }
    } catch (const std::exception& e) {
      obs::catalog::pool_keeper_pass_failures().inc();
      const auto step = backoff.failed();
      log::warn("pool_pass_failed", {{"reason", e.what()},
                                     {"failures", std::to_string(step.failures)},
                                     {"retry_ms", std::to_string(step.delay.count())}});
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, backoff.delay(), [&] { return stopping_; })) return;
  }
}

void PoolKeeper::pass() {
  std::erase_if(untold_, [&](const UntoldBinding& b) {
    try {
      retell(b);
      return true;
    } catch (const std::exception& e) {
      log::warn("binding_retell_failed", {{"batch_id", b.batch_id}, {"reason", e.what()}});
      return false;  // a dealer is unreachable: the next pass tries again
    }
  });
  // One generation or pool that cannot be checked (its member's database is down, its group is
  // gone) must not stop the others, nor the refill once the member is back.
  for (const Generation& g : groups_->generating()) {
    try {
      check(g);
    } catch (const std::exception& e) {
      log::warn("generation_check_failed", {{"batch_id", g.batch_id}, {"reason", e.what()}});
    }
  }
  for (const PoolRecord& p : groups_->pools()) {
    try {
      refill(p);
    } catch (const std::exception& e) {
      log::warn("pool_refill_failed",
                {{"model_id", p.model_id}, {"group_id", p.group_id}, {"reason", e.what()}});
    }
  }
  // Last, so the failures of this pass are told in it.
  for (const UntoldFailure& f : registry_->untold_failures()) {
    try {
      tell_failure(f);
    } catch (const std::exception& e) {
      log::warn("failure_tell_failed", {{"batch_id", f.batch_id}, {"reason", e.what()}});
    }
  }
}

void PoolKeeper::retell(const UntoldBinding& b) {
  dealer::api::BindRequest request{b.batch_id, b.model_owner, std::nullopt, std::nullopt};
  if (b.kind == "mask_set") {
    request.kind = "mask_set";
  } else {
    request.client_identity = b.client;
  }
  const json binding = request;
  // The batch's group key is its dealers' ids joined by ',' (core/ids.hpp), whether or not
  // the group was formed here (fixture batches are not).
  const std::vector<DealerRecord> dealers = registry_->dealers(group_members(b.dealer_group));
  try {
    // The dealers accept the same binding again and refuse any other (dealer/dealer_store.hpp).
    for_each_dealer(dealers, [&](const DealerRecord& d) {
      call_dealer(client_, d, verb::post, std::string(dealer::api::kBindPath), binding);
    });
  } catch (const Error& e) {
    if (e.code() == Errc::unavailable || e.code() == Errc::internal) throw;
    // A dealer cannot take it (it failed or expired it, or holds another binding): the batch is
    // never served, as when the original request could not tell a dealer, and the pass tells
    // every dealer that it failed.
    registry_->mark_failed(b.batch_id);
    log::warn("batch_failed", {{"batch_id", b.batch_id}, {"reason", e.what()}});
    return;
  }
  registry_->mark_dealers_told(b.batch_id);
  log::info("binding_retold", {{"batch_id", b.batch_id}, {"kind", b.kind}});
}

std::vector<DealerRecord> PoolKeeper::members(const std::string& group_id) {
  auto group = groups_->group(group_id);
  if (!group) throw Error(Errc::not_found, "unknown group " + group_id);
  return registry_->dealers(group->members);
}

void PoolKeeper::check(const Generation& g) {
  std::vector<DealerRecord> dealers = members(g.group_id);
  std::size_t prepared = 0;
  std::string unreachable;
  for (const auto& d : dealers) {
    try {
      const auto answer =
          call_dealer(client_, d, verb::get, dealer::api::generation_path(g.batch_id))
              .get<dealer::api::GenerationState>();
      const std::string& state = answer.state;
      if (state == "prepared" || state == "available") {
        ++prepared;
      } else if (state == "failed") {
        return fail(g, "dealer " + d.dealer_id + ": " + answer.error.value_or("failed"));
      }
    } catch (const Error& e) {
      if (e.code() == Errc::not_found) {
        return fail(g, "dealer " + d.dealer_id + " does not know the batch");
      }
      unreachable = "dealer " + d.dealer_id + ": " + e.what();
    }
  }
  if (prepared == dealers.size()) {
    // The commit point: every member holds its share durably.
    if (groups_->mark_generated(g)) {
      obs::catalog::generations().with({g.model_id, g.group_id, "available"}).inc();
      obs::catalog::generation_seconds().observe(seconds_since_start(g));
      log::info(g.kind == "mask_set" ? "mask_set_generated" : "batch_generated",
                {{"batch_id", g.batch_id}, {"model_id", g.model_id}, {"group_id", g.group_id}});
    }
    return;
  }
  if (unix_now() > g.started_unix + settings_.generation_timeout.count()) {
    fail(g,
         "generation timed out" + (unreachable.empty() ? std::string() : " (" + unreachable + ")"));
  }
}

void PoolKeeper::fail(const Generation& g, const std::string& reason) {
  if (!groups_->mark_generation_failed(g, reason)) return;
  obs::catalog::generations().with({g.model_id, g.group_id, "failed"}).inc();
  started_.erase(g.batch_id);
  log::warn("batch_generation_failed", {{"batch_id", g.batch_id}, {"reason", reason}});
  paused_[{g.model_id, g.group_id}] = std::chrono::steady_clock::now() + settings_.retry_delay;
}

double PoolKeeper::seconds_since_start(const Generation& g) {
  // Generations this process started are timed on the monotonic clock; one a previous run
  // started, by the wall-clock second it recorded.
  if (auto it = started_.find(g.batch_id); it != started_.end()) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - it->second;
    started_.erase(it);
    return elapsed.count();
  }
  return static_cast<double>(std::max<std::int64_t>(0, unix_now() - g.started_unix));
}

void PoolKeeper::tell_failure(const UntoldFailure& f) {
  bool told = true;
  for (const DealerRecord& d : registry_->dealers(group_members(f.dealer_group))) {
    try {
      call_dealer(client_, d, verb::post, dealer::api::fail_path(f.batch_id), json::object());
    } catch (const Error& e) {
      // A member the generation never reached does not know the batch: nothing to tell.
      if (e.code() == Errc::not_found) continue;
      // Refused for good (it released, consumed or ended the batch): nothing to retry.
      const bool again = e.code() == Errc::unavailable || e.code() == Errc::internal;
      told = told && !again;
      log::warn("failure_unsent", {{"batch_id", f.batch_id},
                                   {"dealer", d.dealer_id},
                                   {"retry", again ? "yes" : "no"},
                                   {"reason", e.what()}});
    }
  }
  if (!told) return;
  registry_->mark_dealers_told(f.batch_id);
  log::info("failure_told", {{"batch_id", f.batch_id}});
}

void PoolKeeper::refill(const PoolRecord& pool) {
  const auto key = std::pair{pool.model_id, pool.group_id};
  const std::int64_t available = groups_->count(pool.model_id, pool.group_id, "available");
  const std::int64_t generating = groups_->count(pool.model_id, pool.group_id, "generating");
  obs::catalog::pool_batches()
      .with({pool.model_id, pool.group_id, "available"})
      .set(static_cast<double>(available));
  obs::catalog::pool_batches()
      .with({pool.model_id, pool.group_id, "generating"})
      .set(static_cast<double>(generating));
  if (auto p = paused_.find(key); p != paused_.end()) {
    if (std::chrono::steady_clock::now() < p->second) return;
    paused_.erase(p);
  }
  auto model = registry_->model(pool.model_id);
  if (!model) throw Error(Errc::not_found, "pool of unknown model " + pool.model_id);
  const bool masked = !model->mask_plan_json.empty();
  // The group's one mask set, made again only when the last one failed: its B derive from
  // (group, model, mask), so a new one holds the same masks as the failed one would have.
  if (masked && groups_->live_mask_sets(pool.model_id, pool.group_id) == 0) {
    dealer::api::GenerationRequest request;
    request.plan = json::parse(model->mask_plan_json);
    request.kind = "mask_set";
    if (!start_generation(pool, "mask_set", request, members(pool.group_id))) return;
  }
  if (available < settings_.min_size) refilling_.insert(key);
  if (available >= settings_.max_size) refilling_.erase(key);
  if (!refilling_.count(key)) return;
  std::int64_t to_start =
      std::min(settings_.concurrency - generating, settings_.max_size - available - generating);
  if (to_start <= 0) return;
  std::vector<DealerRecord> dealers = members(pool.group_id);
  dealer::api::GenerationRequest request;
  request.plan = json::parse(model->plan_json);
  if (masked) request.mask_plan = json::parse(model->mask_plan_json);
  for (; to_start > 0; --to_start) {
    if (!start_generation(pool, "batch", request, dealers)) return;
  }
}

bool PoolKeeper::start_generation(const PoolRecord& pool, const std::string& kind,
                                  dealer::api::GenerationRequest request,
                                  const std::vector<DealerRecord>& dealers) {
  Generation g{random_uuid(), pool.model_id, pool.group_id, unix_now(), kind};
  groups_->begin_generation(g);
  request.batch_id = g.batch_id;
  request.model_id = g.model_id;
  request.group_id = g.group_id;
  request.members = mesh_members(dealers);
  const json body = request;
  try {
    for_each_dealer(dealers, [&](const DealerRecord& d) {
      try {
        call_dealer(client_, d, verb::post, std::string(dealer::api::kGenerationsPath), body);
      } catch (const Error& e) {
        throw Error(e.code(), "dealer " + d.dealer_id + ": " + e.what());
      }
    });
    obs::catalog::generations().with({g.model_id, g.group_id, "started"}).inc();
    started_[g.batch_id] = std::chrono::steady_clock::now();
    log::info("generation_started", {{"batch_id", g.batch_id},
                                     {"kind", kind},
                                     {"model_id", g.model_id},
                                     {"group_id", g.group_id}});
    return true;
  } catch (const Error& e) {
    fail(g, e.what());
    return false;
  }
}

}  // namespace ppi::super_dealer
