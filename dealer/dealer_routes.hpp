#pragma once
#include "app/actor.hpp"
#include "dealer/dealer_store.hpp"

namespace ppi::dealer {

struct DealerSettings {
  std::string dealer_id;
  std::string super_dealer_identity;  // the only caller allowed to bind batches
  std::int64_t batch_ttl_seconds = 3600;
};

// POST /v1/bind (super dealer) and POST /v1/seed (the bound client).
void add_dealer_routes(net::Router& router, std::shared_ptr<DealerStore> store,
                       DealerSettings settings);

}  // namespace ppi::dealer
