#pragma once
// The client's half of the converter: ask the model owner for an inference (which binds a
// batch and has the model owner collect its share), then fetch every dealer's seed and
// MAC-key mask and store them.

#include "client/client_store.hpp"
#include "net/http_client.hpp"

namespace ppi::client {

Conversion convert(ClientStore& store, const net::ClientOptions& rest,
                   const std::string& model_owner_url, const std::string& model_id,
                   const std::vector<std::string>& dealers);

}  // namespace ppi::client
