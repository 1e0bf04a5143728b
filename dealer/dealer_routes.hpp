#pragma once
#include <optional>

#include "app/actor.hpp"
#include "dealer/dealer_store.hpp"
#include "dealer/group_routes.hpp"

namespace ppi::dealer {

struct DealerSettings {
  std::string dealer_id;
  std::string super_dealer_identity;  // the only caller allowed to bind batches
  std::int64_t batch_ttl_seconds = 3600;
};

// POST /v1/bind (super dealer) and POST /v1/seed (the bound client).
void add_dealer_routes(net::Router& router, std::shared_ptr<DealerStore> store,
                       DealerSettings settings);

// Every route the dealer serves besides app::add_service_routes: the two above, the super
// dealer's POST /v1/batches/{batch_id}/fail (DealerStore::withdraw), its audit
// events, and, given `groups` (a dealer under mTLS), the group and generation calls
// (group_routes.hpp). Nothing is used until a request comes, so stores over no database
// build the route table alone (tests/unit/test_openapi_contract.cpp).
void add_routes(net::Router& router, std::shared_ptr<DealerStore> store, DealerSettings settings,
                std::optional<GroupServices> groups);

}  // namespace ppi::dealer
