#pragma once
// The super dealer's REST calls for dealer groups and pools (docs/api.md):
//   POST /v1/groups {"dealers": [...]}       form a group of 3 to 10 registered dealers: each
//                                            member records it, then the members agree keys
//                                            among themselves over their mTLS mesh
//   GET  /v1/groups                          groups, their members and state
//   POST /v1/pools {"model_id", "dealers"}   the model's owner asks for a pool of generated
//                                            batches of its model for a ready group
//   GET  /v1/pools                           pools with their batch counts per state
#include "app/actor.hpp"
#include "super_dealer/group_registry.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

// Forms the group of these dealers (3 to 10 registered ids, any order) or returns it when it is
// ready already: every member records it, then every member agrees keys with the others.
// `created_by` is recorded. Throws the first member's failure; the group stays 'forming'.
GroupRecord form_group(RegistryStore& registry, GroupRegistry& groups,
                       const net::ClientOptions& dealer_client,
                       const std::vector<std::string>& dealers, const std::string& created_by);

void add_group_routes(net::Router& router, std::shared_ptr<RegistryStore> registry,
                      std::shared_ptr<GroupRegistry> groups, net::ClientOptions dealer_client);

}  // namespace ppi::super_dealer
