#include "dealer/dealer_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
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

}  // namespace

void add_dealer_routes(net::Router& router, std::shared_ptr<DealerStore> store,
                       DealerSettings settings) {
  using net::http::verb;
  namespace role = net::role;
  router.add(
      verb::post, "/v1/bind", {role::kSuperDealer},
      [store, settings](const net::Request& req, net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        if (caller != settings.super_dealer_identity) {
          throw Error(Errc::permission_denied, "only the super dealer binds batches");
        }
        JsonBody body(req.body(), {"batch_id", "model_owner_identity", "client_identity", "kind"});
        std::string batch_id = body.string("batch_id");
        check_batch_id(batch_id);
        const std::string kind = body.raw().contains("kind") ? body.string("kind") : kBatch;
        check_batch_kind(kind);
        std::string model_owner = body.string("model_owner_identity");
        check_party(model_owner, "model_owner_identity");
        std::string client;
        if (kind == kMaskSet) {
          if (body.raw().contains("client_identity")) {
            throw Error(Errc::invalid_argument,
                        "a mask set is bound to the model owner alone: no client_identity");
          }
        } else {
          client = body.string("client_identity");
          check_party(client, "client_identity");
          if (model_owner == client) {
            throw Error(Errc::invalid_argument,
                        "model_owner_identity and client_identity must differ");
          }
        }
        store->bind(batch_id, model_owner, client, settings.batch_ttl_seconds, kind, caller);
        return net::json_response(net::http::status::ok,
                                  nlohmann::json{{"batch_id", batch_id}}.dump());
      });

  // This dealer's audit events, to the super dealer's audit (docs/audit.md).
  ledger::add_events_route(router, store->database(), settings.super_dealer_identity);

  router.add(
      verb::post, "/v1/seed", {role::kClient},
      [store](const net::Request& req, net::RequestContext& ctx) {
        const std::string& caller = app::require_identity(ctx);
        JsonBody body(req.body(), {"batch_id"});
        std::string batch_id = body.string("batch_id");
        check_batch_id(batch_id);
        BoundBatch batch = store->release_seed(batch_id, caller);
        log::info("seed_released", {{"batch_id", batch_id}, {"client", caller}});
        nlohmann::json doc = {{"batch_id", batch_id},
                              {"shares_seed", to_decimal(batch.shares_seed.to_u128())},
                              {"mac_key_mask", to_decimal(batch.mac_key_mask)}};
        std::string answer = doc.dump();
        obs::catalog::dealer_releases().with({"seed"}).inc();
        obs::catalog::dealer_release_bytes().with({"seed"}).inc(static_cast<double>(answer.size()));
        return net::json_response(net::http::status::ok, std::move(answer));
      });
}

}  // namespace ppi::dealer
