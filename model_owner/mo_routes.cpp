#include "model_owner/mo_routes.hpp"

#include "app/actor.hpp"
#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "ledger/events_route.hpp"
#include "model_owner/api.hpp"
#include "net/tls.hpp"

namespace ppi::model_owner {

nlohmann::ordered_json model_item(const ModelSummary& m) {
  nlohmann::ordered_json item = {{"model_id", m.model_id}, {"kind", kind_name(m.kind)}};
  if (m.kind == ModelKind::gpt2) {
    item["max_context"] = m.bucket;
    item["max_new_tokens"] = m.max_new_tokens;
  } else {
    item["rows"] = m.input_rows;
  }
  return item;
}

void add_routes(net::Router& router, std::shared_ptr<db::Database> db,
                std::shared_ptr<ModelOwnerStore> store, ConverterSettings settings,
                std::string super_dealer_identity) {
  // This model owner's audit events, to the super dealer's audit (docs/audit.md).
  ledger::add_events_route(router, std::move(db), std::move(super_dealer_identity));
  router.add(net::http::verb::post, std::string(api::kInferencePath), {net::role::kClient},
             [store, settings](const net::Request& req, net::RequestContext& ctx) {
               const std::string& client = app::require_identity(ctx);
               const auto body = parse_body<api::InferenceRequest>(req.body());
               check_name_id(body.model_id, "model_id");
               check_dealer_group(body.dealers);
               const auto answer = convert(*store, settings, client, body.model_id, body.dealers);
               return net::json_response(net::http::status::ok, nlohmann::json(answer).dump());
             });
  router.add(net::http::verb::get, std::string(api::kModelsPath),
             {net::role::kClient, net::role::kOperator},
             [store](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               auto models = nlohmann::ordered_json::array();
               for (const auto& m : store->runnable_models()) models.push_back(model_item(m));
               return net::json_response(net::http::status::ok,
                                         nlohmann::ordered_json{{"models", models}}.dump());
             });
}

}  // namespace ppi::model_owner
