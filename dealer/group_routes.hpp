#pragma once
// The dealer's REST calls for groups and generation, all for the super dealer's CN only:
//   POST /v1/groups                         record membership, draw this member's keys
//   POST /v1/groups/keys                    run the key agreement with the other members
//   POST /v1/generations                    start generating a batch (202)
//   GET  /v1/generations/{batch_id}         generating | prepared | failed (+ error)
// (A failed generation is discarded by POST /v1/batches/{batch_id}/fail, dealer_routes.hpp.)
#include "app/actor.hpp"
#include "dealer/generation.hpp"
#include "dealer/group_agreement.hpp"

namespace ppi::dealer {

struct GroupServices {
  std::shared_ptr<GroupStore> groups;
  std::shared_ptr<GroupAgreement> agreement;
  std::shared_ptr<GenerationStore> generations;
  std::shared_ptr<GenerationRunner> runner;
  std::string super_dealer_identity;
};

void add_group_routes(net::Router& router, GroupServices services);

}  // namespace ppi::dealer
