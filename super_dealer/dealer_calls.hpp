#pragma once
// Calls from the super dealer to the dealers of a group, all at once.
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "dealer/api.hpp"
#include "net/json_call.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

// Runs call(d) for every dealer in parallel and waits for all; rethrows the first failure.
void for_each_dealer(const std::vector<DealerRecord>& dealers,
                     const std::function<void(const DealerRecord&)>& call);

// One REST call to a dealer at its registered rest_url + path, pinned to its identity: the
// handshake is refused unless the server there presents the certificate of d.dealer_id, so an
// endpoint re-registered to point at another dealer's server reaches nobody.
nlohmann::json call_dealer(const net::ClientOptions& options, const DealerRecord& d,
                           net::http::verb method, const std::string& path,
                           const nlohmann::json& body = nullptr);

// The dealers as members of their group, in the given order: how dealers learn where the other
// members of their group listen (dealer POST /v1/groups/keys and /v1/generations).
std::vector<dealer::api::Member> mesh_members(const std::vector<DealerRecord>& dealers);

}  // namespace ppi::super_dealer
