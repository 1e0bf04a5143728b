#pragma once
// The model owner's REST interface (docs/api.md), besides app::add_service_routes:
//   POST /v1/model_inference {"model_id", "dealers"}  a client asks for a converted batch
//   GET  /v1/models                                   the models it can run, with their limits
//   GET  /v1/audit/events                             its audit events (ledger/events_route.hpp)
// Nothing is used until a request comes, so a store over no database builds the route table
// alone (tests/unit/test_openapi_contract.cpp).

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "model_owner/converter.hpp"
#include "model_owner/mo_store.hpp"
#include "net/router.hpp"

namespace ppi::model_owner {

// A runnable model's public limits, as GET /v1/models and `model_owner models` give them.
nlohmann::ordered_json model_item(const ModelSummary& m);

// `db` is the store's database (the audit events are read from it).
void add_routes(net::Router& router, std::shared_ptr<db::Database> db,
                std::shared_ptr<ModelOwnerStore> store, ConverterSettings settings,
                std::string super_dealer_identity);

}  // namespace ppi::model_owner
