#pragma once
#include "app/actor.hpp"
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

}  // namespace ppi::super_dealer
