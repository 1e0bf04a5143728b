#pragma once
// The dealer's REST bodies of binding and release (openapi/dealer.yaml), one definition each,
// read and written by its routes and by its callers: the super dealer telling it of a binding,
// the client fetching seeds. As in super_dealer/api.hpp: from_json checks the shape and names
// the field that does not fit; kFields is compared with the schema of the same name.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/json_body.hpp"
#include "ring/z2k.hpp"

namespace ppi::dealer::api {

inline constexpr std::string_view kBindPath = "/v1/bind";
inline constexpr std::string_view kSeedPath = "/v1/seed";

// Schema BindRequest: POST /v1/bind, the super dealer tells a dealer of a binding: a batch to
// a model owner and a client, or (kind mask_set) a mask set to its model owner alone.
struct BindRequest {
  std::string batch_id;
  std::string model_owner_identity;
  std::optional<std::string> client_identity;  // none for a mask set
  std::optional<std::string> kind;             // none: "batch"
  static inline const JsonFields kFields = {
      {"batch_id"}, {"model_owner_identity"}, {"client_identity", false}, {"kind", false}};
};

// Schema BatchRef: the answer to POST /v1/bind, and the request of POST /v1/seed.
struct BatchRef {
  std::string batch_id;
  static inline const JsonFields kFields = {{"batch_id"}};
};

// Schema Seeds: the answer to POST /v1/seed, this dealer's seeds of the batch for its client
// (Z_2^128 values as decimal strings).
struct Seeds {
  std::string batch_id;
  u128 shares_seed = 0;
  u128 mac_key_mask = 0;
  static inline const JsonFields kFields = {{"batch_id"}, {"shares_seed"}, {"mac_key_mask"}};
};

inline void to_json(nlohmann::json& j, const BindRequest& r) {
  j = {{"batch_id", r.batch_id}, {"model_owner_identity", r.model_owner_identity}};
  if (r.client_identity) j["client_identity"] = *r.client_identity;
  if (r.kind) j["kind"] = *r.kind;
}
inline void from_json(const nlohmann::json& j, BindRequest& r) {
  const auto b = JsonBody::typed(j, BindRequest::kFields);
  r.batch_id = b.string("batch_id");
  r.model_owner_identity = b.string("model_owner_identity");
  r.client_identity = b.optional_string("client_identity");
  r.kind = b.optional_string("kind");
}

inline void to_json(nlohmann::json& j, const BatchRef& r) {
  j = {{"batch_id", r.batch_id}};
}
inline void from_json(const nlohmann::json& j, BatchRef& r) {
  r.batch_id = JsonBody::typed(j, BatchRef::kFields).string("batch_id");
}

inline void to_json(nlohmann::json& j, const Seeds& s) {
  j = {{"batch_id", s.batch_id},
       {"shares_seed", to_decimal(s.shares_seed)},
       {"mac_key_mask", to_decimal(s.mac_key_mask)}};
}
inline void from_json(const nlohmann::json& j, Seeds& s) {
  const auto b = JsonBody::typed(j, Seeds::kFields);
  s.batch_id = b.string("batch_id");
  s.shares_seed = parse_decimal_u128(b.string("shares_seed"));
  s.mac_key_mask = parse_decimal_u128(b.string("mac_key_mask"));
}

}  // namespace ppi::dealer::api
