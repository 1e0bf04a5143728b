#pragma once
#include "app/actor.hpp"
#include "super_dealer/audit_collect.hpp"
#include "super_dealer/group_registry.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

// The super dealer's REST interface (docs/api.md): dealers, models, batch binding, audit.
// `client_tls` is the identity the super dealer uses to tell dealers of a binding. An empty
// pool answers 503 with Retry-After from `groups` (GroupRegistry::refill_estimate, with the
// pool keeper's `keeper_interval`).
void add_super_dealer_routes(net::Router& router, std::shared_ptr<RegistryStore> store,
                             std::shared_ptr<GroupRegistry> groups,
                             std::chrono::milliseconds keeper_interval,
                             net::ClientOptions dealer_client);

// What the super dealer's routes use. Nothing is used until a request comes, so a
// default-constructed one builds the route table alone (tests/unit/test_openapi_contract.cpp).
struct Services {
  std::shared_ptr<db::Database> db;
  std::shared_ptr<RegistryStore> store;
  std::shared_ptr<GroupRegistry> groups;
  std::chrono::milliseconds keeper_interval{500};
  net::ClientOptions dealer_client;     // tells dealers of a binding
  net::ClientOptions formation_client;  // forms groups: waits for every member's key agreement
  AuditSources audit;                   // without dealers: read again for each audit
  std::int64_t retention_seconds = 0;
};

// Every route the super dealer serves besides app::add_service_routes: the calls above, the
// groups and pools (group_routes.hpp), its audit events (ledger/events_route.hpp) and the
// audit report (audit_command.hpp).
void add_routes(net::Router& router, Services services);

}  // namespace ppi::super_dealer
