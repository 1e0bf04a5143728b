#include "model_owner/converter.hpp"

#include <chrono>
#include <map>
#include <mutex>

#include "core/ids.hpp"
#include "core/test_fault.hpp"
#include "db/chunks.hpp"
#include "grpc/share_collector.hpp"
#include "ledger/ledger.hpp"
#include "material/layout.hpp"
#include "net/json_call.hpp"
#include "obs/catalog.hpp"
#include "obs/log.hpp"
#include "super_dealer/api.hpp"

namespace ppi::model_owner {
namespace {

using nlohmann::json;

// The dealers of a super dealer's answer: where to collect, and what the client is told.
struct AnsweredDealers {
  std::vector<grpcsvc::DealerEndpoint> endpoints;
  std::vector<api::InferenceDealer> for_client;
};

AnsweredDealers dealers_of(const std::vector<super_dealer::api::Dealer>& dealers) {
  AnsweredDealers out;
  for (const auto& d : dealers) {
    out.endpoints.push_back({d.dealer_id, d.grpc_endpoint});
    out.for_client.push_back({d.dealer_id, d.rest_url});
  }
  return out;
}

// Collects the dealers' masked shares of `id` into `chunks`, in the session's transaction.
grpcsvc::CollectResult collect_into(db::Session& session, db::ChunkTable chunks,
                                    const std::string& id,
                                    const std::vector<grpcsvc::DealerEndpoint>& endpoints,
                                    const material::BatchLayout& layout,
                                    const ConverterSettings& settings) {
  db::ChunkWriter writer(session, chunks, id);
  grpcsvc::CollectOptions options;
  options.tls = settings.grpc_tls;
  options.chunk_elements = settings.chunk_elements;
  auto result = grpcsvc::collect_shares(
      endpoints, id, layout, options, [&](std::uint64_t, ByteView summed_pairs) {
        writer.write(summed_pairs);
        test_fault_point("mid_collection");  // some of the share received, none committed
      });
  if (result.total_elements != layout.element_count()) {
    throw Error(Errc::internal, "dealers sent " + std::to_string(result.total_elements) +
                                    " elements of " + id + ", its plan has " +
                                    std::to_string(layout.element_count()));
  }
  writer.finish();
  return result;
}

double seconds_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// One fetch of a (model, group)'s mask set at a time in this process: a second conversion
// waits for the first and then finds the mask set held.
std::unique_lock<std::mutex> lock_mask_set(const std::string& model_id,
                                           const std::string& group_id) {
  static std::mutex registry_mutex;
  static std::map<std::pair<std::string, std::string>, std::mutex> locks;
  std::mutex* lock = nullptr;
  {
    std::lock_guard guard(registry_mutex);
    lock = &locks[{model_id, group_id}];  // std::map never moves its values
  }
  return std::unique_lock(*lock);
}

// Asks the super dealer for the mask set of (model, group), bound to this model owner, and
// stores the sum of the dealers' streams (B in the clear, its MACs masked) with its chunks in
// one transaction. The super dealer's 503 (still generating) reaches the caller as is.
void fetch_mask_set(ModelOwnerStore& store, const ConverterSettings& settings,
                    const std::string& model_id, const std::vector<std::string>& dealers,
                    const std::string& group_id, const std::string& mask_plan_json) {
  const auto started = std::chrono::steady_clock::now();
  json bound =
      net::call_json(settings.rest, net::http::verb::post,
                     settings.super_dealer_url + std::string(super_dealer::api::kMaskSetPath),
                     super_dealer::api::MaskSetRequest{model_id, dealers});
  std::string mask_set_id;
  AnsweredDealers answered;
  std::string plan;
  try {
    const auto grant = bound.get<super_dealer::api::MaskSetGrant>();
    mask_set_id = grant.mask_set_id;
    answered = dealers_of(grant.dealers);
    plan = material::MaterialPlan::from_json(grant.plan).canonical();
  } catch (const std::exception& e) {
    throw Error(Errc::internal, std::string("the super dealer's mask set answer: ") + e.what());
  }
  check_batch_id(mask_set_id);
  if (plan != mask_plan_json) {
    throw Error(Errc::internal, "the super dealer's mask set of model '" + model_id +
                                    "' has another plan than the model's mask plan");
  }
  const material::BatchLayout layout(material::MaterialPlan::parse(plan));
  auto session = store.database().acquire();
  db::Transaction tx(session);
  session.exec(
      "INSERT INTO mask_sets (mask_set_id, model_id, group_id, element_count) VALUES (?, ?, ?, ?)",
      {mask_set_id, model_id, group_id, static_cast<std::int64_t>(layout.element_count())});
  auto result =
      collect_into(session, kMaskSetChunks, mask_set_id, answered.endpoints, layout, settings);
  Bytes key(16);
  store_u128_le(key.data(), result.mac_key_share);
  session.exec(
      "UPDATE mask_sets SET state = 'ready', mac_key_share = ?, bytes_received = ?, "
      "completed_at = CURRENT_TIMESTAMP WHERE mask_set_id = ?",
      {key, static_cast<std::int64_t>(result.bytes_received), mask_set_id});
  cleanse(key);
  ledger::append(session, mask_set_id, ledger::Event::converted, "",
                 {{"kind", "mask_set"},
                  {"model_id", model_id},
                  {"group", group_id},
                  {"bytes", result.bytes_received}});
  tx.commit();
  log::info("mask_set_collected", {{"mask_set_id", mask_set_id},
                                   {"model_id", model_id},
                                   {"group_id", group_id},
                                   {"elements", std::to_string(layout.element_count())},
                                   {"bytes", std::to_string(result.bytes_received)},
                                   {"seconds", std::to_string(seconds_since(started))}});
}

}  // namespace

api::InferenceGrant convert(ModelOwnerStore& store, const ConverterSettings& settings,
                            const std::string& client, const std::string& model_id,
                            const std::vector<std::string>& dealers) {
  const auto plan = store.model_plan(model_id);
  if (!plan) throw Error(Errc::not_found, "unknown model '" + model_id + "'");
  const material::BatchLayout layout(material::MaterialPlan::parse(*plan));
  if (const std::string mask_plan = store.model_mask_plan(model_id); !mask_plan.empty()) {
    const std::string group_id = group_key(check_dealer_group(dealers));
    auto lock = lock_mask_set(model_id, group_id);
    if (!store.holds_mask_set(model_id, group_id)) {
      try {
        fetch_mask_set(store, settings, model_id, dealers, group_id, mask_plan);
      } catch (const Error& e) {
        log::warn("mask_set_collection_failed",
                  {{"model_id", model_id}, {"group_id", group_id}, {"reason", e.what()}});
        throw;
      }
    }
  }
  auto started = std::chrono::steady_clock::now();
  json bound =
      net::call_json(settings.rest, net::http::verb::post,
                     settings.super_dealer_url + std::string(super_dealer::api::kBatchPath),
                     super_dealer::api::BatchRequest{model_id, dealers, client});
  // The super dealer's answer: a malformed one is its fault, not the caller's (the router maps
  // invalid_argument and JSON errors to 400, which would blame the client).
  super_dealer::api::BatchGrant grant;
  try {
    grant = bound.get<super_dealer::api::BatchGrant>();
  } catch (const Error& e) {
    throw Error(Errc::internal, std::string("the super dealer's batch answer: ") + e.what());
  }
  const std::string batch_id = grant.batch_id;
  const std::uint64_t element_count = grant.element_count;
  const AnsweredDealers answered = dealers_of(grant.dealers);
  check_batch_id(batch_id);

  std::string dealer_list;
  for (const auto& e : answered.endpoints) {
    dealer_list += (dealer_list.empty() ? "" : ",") + e.dealer_id;
  }
  store.begin_inference(batch_id, model_id, client, dealer_list);
  try {
    if (element_count != layout.element_count()) {
      throw Error(Errc::internal, "the super dealer's batch has " + std::to_string(element_count) +
                                      " elements, the plan " +
                                      std::to_string(layout.element_count()));
    }
    auto session = store.database().acquire();
    db::Transaction tx(session);
    auto result = collect_into(session, {"share_chunks", "batch_id"}, batch_id, answered.endpoints,
                               layout, settings);
    Bytes key(16);
    store_u128_le(key.data(), result.mac_key_share);
    store.mark_converted(session, batch_id, element_count, key, result.bytes_received);
    cleanse(key);
    tx.commit();
    log::info("share_collected", {{"batch_id", batch_id},
                                  {"elements", std::to_string(element_count)},
                                  {"bytes", std::to_string(result.bytes_received)},
                                  {"seconds", std::to_string(seconds_since(started))}});
    obs::catalog::conversions().with({"succeeded"}).inc();
    obs::catalog::conversion_bytes().inc(static_cast<double>(result.bytes_received));
    obs::catalog::conversion_seconds().observe(seconds_since(started));
  } catch (const Error& e) {
    obs::catalog::conversions().with({"failed"}).inc();
    store.mark_failed(batch_id, e.what());
    log::warn("share_collection_failed", {{"batch_id", batch_id}, {"reason", e.what()}});
    throw;
  }
  return {batch_id, model_id, element_count, answered.for_client};
}

}  // namespace ppi::model_owner
