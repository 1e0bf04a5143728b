#pragma once
// The super dealer's REST bodies (openapi/super_dealer.yaml, docs/api.md) of registration,
// binding and mask sets, defined once: its
// routes read requests with from_json and write answers with to_json, and its callers (the
// dealers' registration, the model owner's converter) do the reverse with the same structs.
// A body that does not fit is Error(invalid_argument) naming the field (400 at the route).
// Each struct's kFields is what tests/unit/test_openapi_contract.cpp compares with the schema
// of the same name. Only the shape is checked here; the routes check the values (ids, sizes).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json_body.hpp"

namespace ppi::super_dealer::api {

inline constexpr std::string_view kDealersPath = "/v1/dealers";
inline constexpr std::string_view kBatchPath = "/v1/batch_id";
inline constexpr std::string_view kMaskSetPath = "/v1/mask_set";

// Schema Dealer: a dealer's endpoints. POST /v1/dealers (the dealer registers itself), and
// each dealer of a BatchGrant.
struct Dealer {
  std::string dealer_id;
  std::string rest_url;
  std::string grpc_endpoint;
  static inline const JsonFields kFields = {{"dealer_id"}, {"rest_url"}, {"grpc_endpoint"}};
};

// Schema BatchRequest: POST /v1/batch_id, the model owner asks for a batch of its model made
// by this dealer group, bound to itself and this client.
struct BatchRequest {
  std::string model_id;
  std::vector<std::string> dealers;
  std::string client_identity;
  static inline const JsonFields kFields = {{"model_id"}, {"dealers"}, {"client_identity"}};
};

// Schema BatchGrant: the answer to POST /v1/batch_id.
struct BatchGrant {
  std::string batch_id;
  std::string model_id;
  std::uint64_t element_count = 0;
  std::vector<Dealer> dealers;
  static inline const JsonFields kFields = {
      {"batch_id"}, {"model_id"}, {"element_count"}, {"dealers"}};
};

// Schema MaskSetRequest: POST /v1/mask_set, the model owner asks for the mask set of its model
// and this dealer group.
struct MaskSetRequest {
  std::string model_id;
  std::vector<std::string> dealers;
  static inline const JsonFields kFields = {{"model_id"}, {"dealers"}};
};

// Schema MaskSetGrant: the answer to POST /v1/mask_set; `plan` is the model's mask plan
// (material::MaterialPlan's JSON).
struct MaskSetGrant {
  std::string mask_set_id;
  std::string model_id;
  std::uint64_t element_count = 0;
  nlohmann::json plan;
  std::vector<Dealer> dealers;
  static inline const JsonFields kFields = {
      {"mask_set_id"}, {"model_id"}, {"element_count"}, {"plan"}, {"dealers"}};
};

inline void to_json(nlohmann::json& j, const Dealer& d) {
  j = {{"dealer_id", d.dealer_id}, {"rest_url", d.rest_url}, {"grpc_endpoint", d.grpc_endpoint}};
}
inline void from_json(const nlohmann::json& j, Dealer& d) {
  const auto b = JsonBody::typed(j, Dealer::kFields);
  d.dealer_id = b.string("dealer_id");
  d.rest_url = b.string("rest_url");
  d.grpc_endpoint = b.string("grpc_endpoint");
}

inline void to_json(nlohmann::json& j, const BatchRequest& r) {
  j = {{"model_id", r.model_id}, {"dealers", r.dealers}, {"client_identity", r.client_identity}};
}
inline void from_json(const nlohmann::json& j, BatchRequest& r) {
  const auto b = JsonBody::typed(j, BatchRequest::kFields);
  r.model_id = b.string("model_id");
  r.dealers = b.strings("dealers");
  r.client_identity = b.string("client_identity");
}

inline void to_json(nlohmann::json& j, const BatchGrant& g) {
  j = {{"batch_id", g.batch_id},
       {"model_id", g.model_id},
       {"element_count", g.element_count},
       {"dealers", g.dealers}};
}
inline void from_json(const nlohmann::json& j, BatchGrant& g) {
  const auto b = JsonBody::typed(j, BatchGrant::kFields);
  g.batch_id = b.string("batch_id");
  g.model_id = b.string("model_id");
  g.element_count = b.uint("element_count");
  const auto& dealers = b.value("dealers");
  if (!dealers.is_array()) throw Error(Errc::invalid_argument, "'dealers' must be an array");
  g.dealers = dealers.get<std::vector<Dealer>>();
}

inline void to_json(nlohmann::json& j, const MaskSetRequest& r) {
  j = {{"model_id", r.model_id}, {"dealers", r.dealers}};
}
inline void from_json(const nlohmann::json& j, MaskSetRequest& r) {
  const auto b = JsonBody::typed(j, MaskSetRequest::kFields);
  r.model_id = b.string("model_id");
  r.dealers = b.strings("dealers");
}

inline void to_json(nlohmann::json& j, const MaskSetGrant& g) {
  j = {{"mask_set_id", g.mask_set_id},
       {"model_id", g.model_id},
       {"element_count", g.element_count},
       {"plan", g.plan},
       {"dealers", g.dealers}};
}
inline void from_json(const nlohmann::json& j, MaskSetGrant& g) {
  const auto b = JsonBody::typed(j, MaskSetGrant::kFields);
  g.mask_set_id = b.string("mask_set_id");
  g.model_id = b.string("model_id");
  g.element_count = b.uint("element_count");
  g.plan = b.value("plan");
  const auto& dealers = b.value("dealers");
  if (!dealers.is_array()) throw Error(Errc::invalid_argument, "'dealers' must be an array");
  g.dealers = dealers.get<std::vector<Dealer>>();
}

}  // namespace ppi::super_dealer::api
