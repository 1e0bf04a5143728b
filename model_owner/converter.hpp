#pragma once
// The model owner's half of the converter: ask the super dealer for a batch bound to this
// model owner and the calling client, collect the dealers' masked shares in parallel, and
// persist their sum, the model owner's 2PC share, in one transaction. A model with a mask plan
// first gets its mask set of the dealer group the same way (POST /v1/mask_set), once: later
// conversions find it held.

#include <nlohmann/json.hpp>

#include "model_owner/api.hpp"
#include "model_owner/mo_store.hpp"
#include "net/http_client.hpp"

namespace ppi::model_owner {

struct ConverterSettings {
  std::string super_dealer_url;
  net::ClientOptions rest;  // this actor's identity for REST calls
  std::optional<net::TlsOptions> grpc_tls;
  std::uint32_t chunk_elements = 0;
};

// Runs the conversion for `client`; returns the model_inference answer (docs/api.md).
api::InferenceGrant convert(ModelOwnerStore& store, const ConverterSettings& settings,
                            const std::string& client, const std::string& model_id,
                            const std::vector<std::string>& dealers);

}  // namespace ppi::model_owner
