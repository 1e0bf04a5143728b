#include "dealer/dealer_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "dealer/api.hpp"
#include "ledger/events_route.hpp"
#include "net/tls.hpp"
#include "obs/catalog.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

void check_party(const std::string& identity, const char* field) {
  if (identity.empty() || identity.size() > 512) {
    throw Error(Errc::invalid_argument, std::string(field) + " must be 1 to 512 characters");
  }
}

// The caller, when it is this dealer's super dealer: the one identity that binds and fails.
const std::string& require_super_dealer(const net::RequestContext& ctx,
                                        const DealerSettings& settings, const char* what) {
  const std::string& caller = app::require_identity(ctx);
  if (caller != settings.super_dealer_identity) {
    throw Error(Errc::permission_denied, std::string("only the super dealer ") + what + " batches");
  }
  return caller;
}

// POST /v1/batches/{batch_id}/fail: the super dealer failed the batch; a generation of it
// still running here is cancelled.
void add_fail_route(net::Router& router, std::shared_ptr<DealerStore> store,
                    const DealerSettings& settings, std::shared_ptr<GenerationRunner> runner) {
  using net::http::verb;
  namespace role = net::role;
  router.add(verb::post, api::fail_path("{batch_id}"), {role::kSuperDealer},
             [store, settings, runner](const net::Request&, net::RequestContext& ctx) {
               const std::string& caller = require_super_dealer(ctx, settings, "fails");
               const std::string& batch_id = ctx.path_params.at("batch_id");
               check_batch_id(batch_id);
               store->withdraw(batch_id, "failed by the super dealer", caller);
               if (runner) runner->cancel(batch_id);
               return net::json_response(net::http::status::ok,
                                         nlohmann::json(api::BatchRef{batch_id}).dump());
             });
}

}  // namespace

void add_dealer_routes(net::Router& router, std::shared_ptr<DealerStore> store,
                       DealerSettings settings) {
  using net::http::verb;
  namespace role = net::role;
  router.add(verb::post, std::string(api::kBindPath), {role::kSuperDealer},
             [store, settings](const net::Request& req, net::RequestContext& ctx) {
               const std::string& caller = require_super_dealer(ctx, settings, "binds");
               const auto body = parse_body<api::BindRequest>(req.body());
               const std::string& batch_id = body.batch_id;
               check_batch_id(batch_id);
               const std::string kind = body.kind.value_or(kBatch);
               check_batch_kind(kind);
               const std::string& model_owner = body.model_owner_identity;
               check_party(model_owner, "model_owner_identity");
               std::string client;
               if (kind == kMaskSet) {
                 if (body.client_identity) {
                   throw Error(Errc::invalid_argument,
                               "a mask set is bound to the model owner alone: no client_identity");
                 }
               } else {
                 if (!body.client_identity) {
                   throw Error(Errc::invalid_argument, "missing field 'client_identity'");
                 }
                 client = *body.client_identity;
                 check_party(client, "client_identity");
                 if (model_owner == client) {
                   throw Error(Errc::invalid_argument,
                               "model_owner_identity and client_identity must differ");
                 }
               }
               store->bind(batch_id, model_owner, client, settings.batch_ttl_seconds, kind, caller);
               return net::json_response(net::http::status::ok,
                                         nlohmann::json(api::BatchRef{batch_id}).dump());
             });

  // This dealer's audit events, to the super dealer's audit (docs/audit.md).
  ledger::add_events_route(router, store->database(), settings.super_dealer_identity);

  router.add(
      verb::post, std::string(api::kSeedPath), {role::kClient},
      [store](const net::Request& req, net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        const std::string batch_id = parse_body<api::BatchRef>(req.body()).batch_id;
        check_batch_id(batch_id);
        BoundBatch batch = store->release_seed(batch_id, caller);
        log::info("seed_released", {{"batch_id", batch_id}, {"client", caller}});
        const api::Seeds seeds{batch_id, batch.shares_seed.to_u128(), batch.mac_key_mask};
        std::string answer = nlohmann::json(seeds).dump();
        obs::catalog::dealer_releases().with({"seed"}).inc();
        obs::catalog::dealer_release_bytes().with({"seed"}).inc(static_cast<double>(answer.size()));
        return net::json_response(net::http::status::ok, std::move(answer));
      });
}

void add_routes(net::Router& router, std::shared_ptr<DealerStore> store, DealerSettings settings,
                std::optional<GroupServices> groups) {
  add_fail_route(router, store, settings, groups ? groups->runner : nullptr);
  add_dealer_routes(router, std::move(store), std::move(settings));
  if (groups) add_group_routes(router, std::move(*groups));
}

}  // namespace ppi::dealer
