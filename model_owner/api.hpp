#pragma once
// The model owner's REST bodies of a conversion (openapi/model_owner.yaml), one definition
// each, read and written by its route and by the client (`client infer`, the gateway). As in
// super_dealer/api.hpp: from_json checks the shape and names the field that does not fit
// (400 at the route); kFields is compared with the schema of the same name.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json_body.hpp"

namespace ppi::model_owner::api {

inline constexpr std::string_view kInferencePath = "/v1/model_inference";
// GET: the models this model owner runs, with their public limits (schema ModelList).
inline constexpr std::string_view kModelsPath = "/v1/models";

// Schema InferenceRequest: POST /v1/model_inference, a client asks for a converted batch of
// `model_id` from this dealer group.
struct InferenceRequest {
  std::string model_id;
  std::vector<std::string> dealers;
  static inline const JsonFields kFields = {{"model_id"}, {"dealers"}};
};

// Schema InferenceDealer: where the client fetches its seeds of the batch.
struct InferenceDealer {
  std::string dealer_id;
  std::string rest_url;
  static inline const JsonFields kFields = {{"dealer_id"}, {"rest_url"}};
};

// Schema InferenceGrant: the answer to POST /v1/model_inference.
struct InferenceGrant {
  std::string batch_id;
  std::string model_id;
  std::uint64_t element_count = 0;
  std::vector<InferenceDealer> dealers;
  static inline const JsonFields kFields = {
      {"batch_id"}, {"model_id"}, {"element_count"}, {"dealers"}};
};

inline void to_json(nlohmann::json& j, const InferenceRequest& r) {
  j = {{"model_id", r.model_id}, {"dealers", r.dealers}};
}
inline void from_json(const nlohmann::json& j, InferenceRequest& r) {
  const auto b = JsonBody::typed(j, InferenceRequest::kFields);
  r.model_id = b.string("model_id");
  r.dealers = b.strings("dealers");
}

inline void to_json(nlohmann::json& j, const InferenceDealer& d) {
  j = {{"dealer_id", d.dealer_id}, {"rest_url", d.rest_url}};
}
inline void from_json(const nlohmann::json& j, InferenceDealer& d) {
  const auto b = JsonBody::typed(j, InferenceDealer::kFields);
  d.dealer_id = b.string("dealer_id");
  d.rest_url = b.string("rest_url");
}

inline void to_json(nlohmann::json& j, const InferenceGrant& g) {
  j = {{"batch_id", g.batch_id},
       {"model_id", g.model_id},
       {"element_count", g.element_count},
       {"dealers", g.dealers}};
}
inline void from_json(const nlohmann::json& j, InferenceGrant& g) {
  const auto b = JsonBody::typed(j, InferenceGrant::kFields);
  g.batch_id = b.string("batch_id");
  g.model_id = b.string("model_id");
  g.element_count = b.uint("element_count");
  g.dealers = b.objects<InferenceDealer>("dealers");
}

}  // namespace ppi::model_owner::api
