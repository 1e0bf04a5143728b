#include "super_dealer/sd_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "core/test_fault.hpp"
#include "dealer/api.hpp"
#include "ledger/event.hpp"
#include "ledger/events_route.hpp"
#include "ledger/ledger.hpp"
#include "material/plan.hpp"
#include "net/json_call.hpp"
#include "net/tls.hpp"
#include "obs/log.hpp"
#include "super_dealer/api.hpp"
#include "super_dealer/audit_command.hpp"
#include "super_dealer/dealer_calls.hpp"
#include "super_dealer/group_routes.hpp"

namespace ppi::super_dealer {
namespace {

using net::http::status;
using net::http::verb;
namespace role = net::role;
using nlohmann::json;

api::Dealer dealer_api(const DealerRecord& d) {
  return {d.dealer_id, d.rest_url, d.grpc_endpoint};
}

std::vector<api::Dealer> dealers_api(const std::vector<DealerRecord>& dealers) {
  std::vector<api::Dealer> out;
  for (const auto& d : dealers) out.push_back(dealer_api(d));
  return out;
}

void check_url(const std::string& url, const char* field) {
  try {
    net::parse_url(url);
  } catch (const Error&) {
    throw Error(Errc::invalid_argument, std::string(field) + " must be an http(s)://host:port URL");
  }
}

void check_endpoint(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (endpoint.size() > 256 || colon == std::string::npos || colon == 0 ||
      colon + 1 == endpoint.size()) {
    throw Error(Errc::invalid_argument, "grpc_endpoint must be host:port");
  }
}

void check_identity(const std::string& identity, const char* field) {
  if (identity.empty() || identity.size() > 512) {
    throw Error(Errc::invalid_argument, std::string(field) + " must be 1 to 512 characters");
  }
}

// Tells every dealer of the group of the binding, in parallel; throws the first failure.
void notify_dealers(const net::ClientOptions& options, const std::vector<DealerRecord>& dealers,
                    const dealer::api::BindRequest& binding) {
  const json body = binding;
  for_each_dealer(dealers, [&](const DealerRecord& d) {
    try {
      call_dealer(options, d, verb::post, std::string(dealer::api::kBindPath), body);
    } catch (const Error& e) {
      throw Error(Errc::unavailable,
                  "dealer " + d.dealer_id + " could not take the batch: " + std::string(e.what()));
    }
  });
}

PlanRows plan_rows(const material::MaterialPlan& plan) {
  PlanRows rows;
  for (const auto& item : plan.items()) {
    rows.items.emplace_back(material::to_string(item.type), item.count);
    rows.elements_per_item.push_back(material::elements_per_item(item.type));
  }
  return rows;
}

// A mask plan holds the long-lived masks only: anything per inference in it would be handed
// to the model owner alone, once, instead of to both parties per batch.
material::MaterialPlan parse_mask_plan(const json& doc) {
  material::MaterialPlan plan = material::MaterialPlan::from_json(doc);
  for (std::size_t i = 0; i < plan.items().size(); ++i) {
    if (plan.items()[i].type.kind != material::Kind::weight_mask) {
      throw Error(Errc::invalid_argument, "mask_plan holds WEIGHT_MASK items only; item " +
                                              std::to_string(i) + " is " +
                                              material::to_string(plan.items()[i].type));
    }
  }
  return plan;
}

std::optional<json> mask_plan_doc(const ModelRecord& m) {
  if (m.mask_plan_json.empty()) return std::nullopt;
  return json::parse(m.mask_plan_json);
}

// The caller's model, or not_found / permission_denied.
ModelRecord owned_model(RegistryStore& store, const std::string& model_id,
                        const std::string& caller) {
  auto model = store.model(model_id);
  if (!model) throw Error(Errc::not_found, "unknown model '" + model_id + "'");
  if (model->owner != caller) {
    throw Error(Errc::permission_denied, "model '" + model_id + "' belongs to another owner");
  }
  return *model;
}

// Tells the dealers of a binding; if one cannot take it, the row is failed for good (some
// dealers may have drawn secrets) and the error goes on to the caller.
void bind_on_dealers(RegistryStore& store, const net::ClientOptions& options,
                     const std::vector<DealerRecord>& dealers, const std::string& batch_id,
                     const dealer::api::BindRequest& binding) {
  test_fault_point("after_bind_commit");
  try {
    notify_dealers(options, dealers, binding);
    store.mark_dealers_told(batch_id);
  } catch (const Error& e) {
    store.mark_failed(batch_id, e.what());
    log::warn("batch_failed", {{"batch_id", batch_id}, {"reason", e.what()}});
    throw;
  }
}

}  // namespace

void add_super_dealer_routes(net::Router& router, std::shared_ptr<RegistryStore> store,
                             std::shared_ptr<GroupRegistry> groups,
                             std::chrono::milliseconds keeper_interval,
                             net::ClientOptions dealer_client) {
  router.add(
      verb::post, std::string(api::kDealersPath), {role::kDealer},
      [store](const net::Request& req, net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        const auto body = parse_body<api::Dealer>(req.body());
        DealerRecord d{body.dealer_id, body.rest_url, body.grpc_endpoint};
        check_name_id(d.dealer_id, "dealer_id");
        if (d.dealer_id != caller) {
          throw Error(Errc::permission_denied,
                      "a dealer registers itself only (certificate CN '" + caller + "')");
        }
        check_url(d.rest_url, "rest_url");
        check_endpoint(d.grpc_endpoint);
        store->upsert_dealer(d);
        log::info("dealer_registered", {{"dealer_id", d.dealer_id}, {"rest_url", d.rest_url}});
        return net::json_response(status::ok, json(api::DealerRegistered{d.dealer_id}).dump());
      });

  router.add(verb::get, std::string(api::kDealersPath), {role::kOperator},
             [store](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               const api::DealerList answer{dealers_api(store->dealers())};
               return net::json_response(status::ok, json(answer).dump());
             });

  router.add(verb::post, std::string(api::kModelsPath), {role::kModelOwner},
             [store](const net::Request& req, net::RequestContext& ctx) {
               const std::string& caller = app::require_identity(ctx);
               const auto body = parse_body<api::ModelRegistration>(req.body());
               const std::string& model_id = body.model_id;
               check_name_id(model_id, "model_id");
               material::MaterialPlan plan = material::MaterialPlan::from_json(body.plan);
               PlanRows mask_rows;
               std::string mask_plan_json;
               if (body.mask_plan) {
                 const material::MaterialPlan mask_plan = parse_mask_plan(*body.mask_plan);
                 mask_rows = plan_rows(mask_plan);
                 mask_plan_json = mask_plan.canonical();
               }
               store->register_model(
                   {model_id, caller, plan.to_json().dump(), plan.element_count(), mask_plan_json},
                   plan_rows(plan), mask_rows);
               const api::ModelRegistered answer{model_id, plan.element_count()};
               return net::json_response(status::ok, json(answer).dump());
             });

  router.add(verb::get, std::string(api::kModelsPath) + "/{model_id}",
             {role::kOperator, role::kModelOwner},
             [store](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               const std::string& model_id = ctx.path_params.at("model_id");
               check_name_id(model_id, "model_id");
               auto m = store->model(model_id);
               if (!m) throw Error(Errc::not_found, "unknown model '" + model_id + "'");
               const api::Model answer{m->model_id, m->owner, json::parse(m->plan_json),
                                       m->element_count, mask_plan_doc(*m)};
               return net::json_response(status::ok, json(answer).dump());
             });

  router.add(
      verb::post, std::string(api::kBatchPath), {role::kModelOwner},
      [store, groups, keeper_interval, dealer_client](const net::Request& req,
                                                      net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        const auto body = parse_body<api::BatchRequest>(req.body());
        const std::string& model_id = body.model_id;
        check_name_id(model_id, "model_id");
        const std::vector<std::string>& requested = body.dealers;
        std::vector<std::string> group = check_dealer_group(requested);
        const std::string& client = body.client_identity;
        check_identity(client, "client_identity");
        if (client == caller) {
          throw Error(Errc::invalid_argument, "the client and the model owner must differ");
        }
        const ModelRecord model = owned_model(*store, model_id, caller);
        std::vector<DealerRecord> dealers = store->dealers(requested);
        auto batch_id = store->bind_batch(model_id, group_key(group), caller, client);
        if (!batch_id) {
          const auto wait = groups->refill_estimate(model_id, group_key(group), keeper_interval);
          if (!wait) {
            throw Error(Errc::unavailable,
                        "no material available for this model and dealer group, and no pool "
                        "generates it: the operator adds one (POST /v1/pools)");
          }
          throw Error(Errc::unavailable,
                      "no material available for this model and dealer group yet; more is "
                      "being generated (try again in about " +
                          std::to_string(*wait) + " s)")
              .retry_after(static_cast<int>(std::min<std::int64_t>(*wait, 3600)));
        }
        bind_on_dealers(*store, dealer_client, dealers, *batch_id,
                        {.batch_id = *batch_id,
                         .model_owner_identity = caller,
                         .client_identity = client,
                         .kind = std::nullopt});
        log::info("batch_bound", {{"batch_id", *batch_id},
                                  {"model_id", model_id},
                                  {"model_owner", caller},
                                  {"client", client}});
        const api::BatchGrant grant{*batch_id, model_id, model.element_count, dealers_api(dealers)};
        return net::json_response(status::ok, json(grant).dump());
      });

  router.add(
      verb::post, std::string(api::kMaskSetPath), {role::kModelOwner},
      [store, dealer_client](const net::Request& req, net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        const auto body = parse_body<api::MaskSetRequest>(req.body());
        const std::string& model_id = body.model_id;
        check_name_id(model_id, "model_id");
        const std::vector<std::string>& requested = body.dealers;
        const std::string group = group_key(check_dealer_group(requested));
        const ModelRecord model = owned_model(*store, model_id, caller);
        if (model.mask_plan_json.empty()) {
          throw Error(Errc::conflict,
                      "model '" + model_id + "' has no mask plan: its batches carry their masks");
        }
        std::vector<DealerRecord> dealers = store->dealers(requested);
        auto found = store->bind_mask_set(model_id, group, caller);
        if (!found || found->state == "generating") {
          throw Error(Errc::unavailable, "the mask set of model " + model_id +
                                             " for dealer group " + group +
                                             " is being generated; try again later");
        }
        if (found->state != "bound") {
          throw Error(Errc::conflict, "the mask set " + found->mask_set_id + " of model " +
                                          model_id + " is " + found->state);
        }
        // Told again on a retry (the dealers accept the same binding twice): the first answer
        // may have been lost after some dealers had it.
        bind_on_dealers(*store, dealer_client, dealers, found->mask_set_id,
                        {.batch_id = found->mask_set_id,
                         .model_owner_identity = caller,
                         .client_identity = std::nullopt,
                         .kind = "mask_set"});
        log::info(
            "mask_set_bound",
            {{"mask_set_id", found->mask_set_id}, {"model_id", model_id}, {"model_owner", caller}});
        const material::MaterialPlan mask_plan =
            material::MaterialPlan::parse(model.mask_plan_json);
        const api::MaskSetGrant grant{found->mask_set_id, model_id, mask_plan.element_count(),
                                      mask_plan.to_json(), dealers_api(dealers)};
        return net::json_response(status::ok, json(grant).dump());
      });

  router.add(verb::get, "/v1/batches/{batch_id}", {role::kOperator, role::kModelOwner},
             [store](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               const std::string& batch_id = ctx.path_params.at("batch_id");
               check_batch_id(batch_id);
               auto b = store->batch(batch_id);
               if (!b) throw Error(Errc::not_found, "unknown batch " + batch_id);
               auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
               return net::json_response(
                   status::ok,
                   json{{"batch_id", b->batch_id},
                        {"model_id", b->model_id},
                        {"dealer_group", b->dealer_group},
                        {"state", b->state},
                        {"model_owner_identity", opt(b->model_owner)},
                        {"client_identity", opt(b->client)},
                        {"created_at", ledger::rfc3339_ms(b->created_at_ms)},
                        {"bound_at", b->bound_at_ms ? json(ledger::rfc3339_ms(*b->bound_at_ms))
                                                    : json(nullptr)}}
                       .dump());
             });
}

void add_routes(net::Router& router, Services services) {
  add_super_dealer_routes(router, services.store, services.groups, services.keeper_interval,
                          services.dealer_client);
  add_group_routes(router, services.store, services.groups, services.formation_client);
  // The batch audit (docs/audit.md): its own events to operators, the report to operators.
  ledger::add_events_route(router, services.db, ledger::actor_identity());
  services.audit.dealers.clear();
  add_audit_route(router, std::move(services.audit), services.retention_seconds);
}

}  // namespace ppi::super_dealer
