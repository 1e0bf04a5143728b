#pragma once
#include <string>

#include "config/config.hpp"

namespace ppi::dealer {

// Registers this dealer's endpoints with the super dealer (super_dealer.url, whose certificate
// must name super_dealer.identity), retrying for a while in case the super dealer is still
// starting; throws Error(unavailable) after that.
void register_dealer(const config::Config& cfg, const std::string& dealer_id,
                     const std::string& rest_url, const std::string& grpc_endpoint);

}  // namespace ppi::dealer
