#pragma once
// Calls from the super dealer to the dealers of a group, all at once.
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

// Runs call(d) for every dealer in parallel and waits for all; rethrows the first failure.
void for_each_dealer(const std::vector<DealerRecord>& dealers,
                     const std::function<void(const DealerRecord&)>& call);

// [{"dealer_id": ..., "grpc_endpoint": ...}, ...] in the given order: how dealers learn where
// the other members of their group listen.
nlohmann::json members_json(const std::vector<DealerRecord>& dealers);

}  // namespace ppi::super_dealer
