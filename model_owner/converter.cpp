#include "model_owner/converter.hpp"

#include <chrono>

#include "core/ids.hpp"
#include "db/chunks.hpp"
#include "grpc/share_collector.hpp"
#include "material/layout.hpp"
#include "net/json_call.hpp"
#include "obs/log.hpp"

namespace ppi::model_owner {

using nlohmann::json;

nlohmann::json convert(ModelOwnerStore& store, const ConverterSettings& settings,
                       const std::string& client, const std::string& model_id,
                       const std::vector<std::string>& dealers) {
  const auto plan = store.model_plan(model_id);
  if (!plan) throw Error(Errc::not_found, "unknown model '" + model_id + "'");
  const material::BatchLayout layout(material::MaterialPlan::parse(*plan));
  auto started = std::chrono::steady_clock::now();
  json bound = net::call_json(
      settings.rest, net::http::verb::post, settings.super_dealer_url + "/v1/batch_id",
      {{"model_id", model_id}, {"dealers", dealers}, {"client_identity", client}});
  // The super dealer's answer: a malformed one is its fault, not the caller's (the router maps
  // JSON errors to 400, which would blame the client).
  std::string batch_id;
  std::uint64_t element_count = 0;
  std::vector<grpcsvc::DealerEndpoint> endpoints;
  json for_client = json::array();
  try {
    batch_id = bound.at("batch_id").get<std::string>();
    element_count = bound.at("element_count").get<std::uint64_t>();
    for (const auto& d : bound.at("dealers")) {
      endpoints.push_back(
          {d.at("dealer_id").get<std::string>(), d.at("grpc_endpoint").get<std::string>()});
      for_client.push_back({{"dealer_id", d.at("dealer_id")}, {"rest_url", d.at("rest_url")}});
    }
  } catch (const json::exception& e) {
    throw Error(Errc::internal, std::string("the super dealer's batch answer: ") + e.what());
  }
  check_batch_id(batch_id);

  std::string dealer_list;
  for (const auto& e : endpoints) dealer_list += (dealer_list.empty() ? "" : ",") + e.dealer_id;
  store.begin_inference(batch_id, model_id, client, dealer_list);
  try {
    auto session = store.database().acquire();
    db::Transaction tx(session);
    db::ChunkWriter writer(session, {"share_chunks", "batch_id"}, batch_id);
    grpcsvc::CollectOptions options;
    options.tls = settings.grpc_tls;
    options.chunk_elements = settings.chunk_elements;
    auto result = grpcsvc::collect_shares(
        endpoints, batch_id, layout, options,
        [&](std::uint64_t, ByteView summed_pairs) { writer.write(summed_pairs); });
    if (result.total_elements != element_count) {
      throw Error(Errc::internal, "dealers sent " + std::to_string(result.total_elements) +
                                      " elements, the plan has " + std::to_string(element_count));
    }
    writer.finish();
    Bytes key(16);
    store_u128_le(key.data(), result.mac_key_share);
    session.exec(
        "UPDATE inferences SET state = 'ready', element_count = ?, mac_key_share = ?, "
        "completed_at = CURRENT_TIMESTAMP WHERE batch_id = ?",
        {static_cast<std::int64_t>(element_count), key, batch_id});
    cleanse(key);
    tx.commit();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::info("share_collected", {{"batch_id", batch_id},
                                  {"elements", std::to_string(element_count)},
                                  {"bytes", std::to_string(result.bytes_received)},
                                  {"seconds", std::to_string(seconds)}});
  } catch (const Error& e) {
    store.mark_failed(batch_id);
    log::warn("share_collection_failed", {{"batch_id", batch_id}, {"reason", e.what()}});
    throw;
  }
  return {{"batch_id", batch_id},
          {"model_id", model_id},
          {"element_count", element_count},
          {"dealers", for_client}};
}

}  // namespace ppi::model_owner
