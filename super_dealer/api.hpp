#pragma once
// The super dealer's REST bodies (openapi/super_dealer.yaml, docs/api.md) of registration,
// models, binding, mask sets, groups and pools, defined once: its routes read requests with
// from_json and write answers with to_json, and its callers (the dealers' registration, the
// model owner's registration and converter, the operator's tools) do the reverse with the
// same structs.
// A body that does not fit is Error(invalid_argument) naming the field (400 at the route).
// Each struct's kFields is what tests/unit/test_openapi_contract.cpp compares with the schema
// of the same name. Only the shape is checked here; the routes check the values (ids, sizes).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json_body.hpp"

namespace ppi::super_dealer::api {

inline constexpr std::string_view kDealersPath = "/v1/dealers";
inline constexpr std::string_view kBatchPath = "/v1/batch_id";
inline constexpr std::string_view kMaskSetPath = "/v1/mask_set";
inline constexpr std::string_view kModelsPath = "/v1/models";
inline constexpr std::string_view kGroupsPath = "/v1/groups";
inline constexpr std::string_view kPoolsPath = "/v1/pools";

// Schema Dealer: a dealer's endpoints. POST /v1/dealers (the dealer registers itself), and
// each dealer of a BatchGrant.
struct Dealer {
  std::string dealer_id;
  std::string rest_url;
  std::string grpc_endpoint;
  static inline const JsonFields kFields = {{"dealer_id"}, {"rest_url"}, {"grpc_endpoint"}};
};

// Schema DealerRegistered: the answer to POST /v1/dealers.
struct DealerRegistered {
  std::string dealer_id;
  static inline const JsonFields kFields = {{"dealer_id"}};
};

// Schema DealerList: GET /v1/dealers.
struct DealerList {
  std::vector<Dealer> dealers;
  static inline const JsonFields kFields = {{"dealers"}};
};

// Schema ModelRegistration: POST /v1/models, a model owner registers its model's plan (and
// mask plan); both are material::MaterialPlan's JSON, read by the route.
struct ModelRegistration {
  std::string model_id;
  nlohmann::json plan;
  std::optional<nlohmann::json> mask_plan;
  static inline const JsonFields kFields = {{"model_id"}, {"plan"}, {"mask_plan", false}};
};

// Schema ModelRegistered: the answer to POST /v1/models.
struct ModelRegistered {
  std::string model_id;
  std::uint64_t element_count = 0;
  static inline const JsonFields kFields = {{"model_id"}, {"element_count"}};
};

// Schema Model: GET /v1/models/{model_id}; `mask_plan` is null when the model has none.
struct Model {
  std::string model_id;
  std::string owner;
  nlohmann::json plan;
  std::uint64_t element_count = 0;
  std::optional<nlohmann::json> mask_plan;
  static inline const JsonFields kFields = {
      {"model_id"}, {"owner"}, {"plan"}, {"element_count"}, {"mask_plan"}};
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

// Schema GroupRequest: POST /v1/groups, the operator forms a group of these dealers.
struct GroupRequest {
  std::vector<std::string> dealers;
  static inline const JsonFields kFields = {{"dealers"}};
};

// Schema Group: the answer to POST /v1/groups, and each group of GET /v1/groups.
struct Group {
  std::string group_id;
  std::vector<std::string> members;  // the group's order (sorted)
  std::string state;                 // forming | ready
  std::optional<std::string> error;  // why the last formation failed
  static inline const JsonFields kFields = {{"group_id"}, {"members"}, {"state"}, {"error", false}};
};

// Schema GroupList: GET /v1/groups.
struct GroupList {
  std::vector<Group> groups;
  static inline const JsonFields kFields = {{"groups"}};
};

// Schema PoolRequest: POST /v1/pools, the operator keeps a pool of the model's batches made by
// this group.
struct PoolRequest {
  std::string model_id;
  std::vector<std::string> dealers;
  static inline const JsonFields kFields = {{"model_id"}, {"dealers"}};
};

// Schema PoolRef: the answer to POST /v1/pools.
struct PoolRef {
  std::string model_id;
  std::string group_id;
  static inline const JsonFields kFields = {{"model_id"}, {"group_id"}};
};

// Schema Pool's `batches`: the pool's batches (not its mask set) per state.
struct PoolBatches {
  std::uint64_t generating = 0;
  std::uint64_t available = 0;
  std::uint64_t bound = 0;
  std::uint64_t failed = 0;
  static inline const JsonFields kFields = {{"generating"}, {"available"}, {"bound"}, {"failed"}};
};

// Schema Pool: each pool of GET /v1/pools; the totals count batches and mask sets.
struct Pool {
  std::string model_id;
  std::string group_id;
  PoolBatches batches;
  std::uint64_t generated_total = 0;
  std::uint64_t failed_total = 0;
  std::optional<std::string> last_error;
  static inline const JsonFields kFields = {{"model_id"},     {"group_id"},
                                            {"batches"},      {"generated_total"},
                                            {"failed_total"}, {"last_error", false}};
};

// Schema PoolList: GET /v1/pools.
struct PoolList {
  std::vector<Pool> pools;
  static inline const JsonFields kFields = {{"pools"}};
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

inline void to_json(nlohmann::json& j, const DealerRegistered& r) {
  j = {{"dealer_id", r.dealer_id}};
}
inline void from_json(const nlohmann::json& j, DealerRegistered& r) {
  r.dealer_id = JsonBody::typed(j, DealerRegistered::kFields).string("dealer_id");
}

inline void to_json(nlohmann::json& j, const DealerList& l) {
  j = {{"dealers", l.dealers}};
}
inline void from_json(const nlohmann::json& j, DealerList& l) {
  l.dealers = JsonBody::typed(j, DealerList::kFields).objects<Dealer>("dealers");
}

inline void to_json(nlohmann::json& j, const ModelRegistration& r) {
  j = {{"model_id", r.model_id}, {"plan", r.plan}};
  if (r.mask_plan) j["mask_plan"] = *r.mask_plan;
}
inline void from_json(const nlohmann::json& j, ModelRegistration& r) {
  const auto b = JsonBody::typed(j, ModelRegistration::kFields);
  r.model_id = b.string("model_id");
  r.plan = b.array("plan");
  r.mask_plan = b.optional_array("mask_plan");
}

inline void to_json(nlohmann::json& j, const ModelRegistered& r) {
  j = {{"model_id", r.model_id}, {"element_count", r.element_count}};
}
inline void from_json(const nlohmann::json& j, ModelRegistered& r) {
  const auto b = JsonBody::typed(j, ModelRegistered::kFields);
  r.model_id = b.string("model_id");
  r.element_count = b.uint("element_count");
}

inline void to_json(nlohmann::json& j, const Model& m) {
  j = {{"model_id", m.model_id},
       {"owner", m.owner},
       {"plan", m.plan},
       {"element_count", m.element_count},
       {"mask_plan", m.mask_plan ? *m.mask_plan : nlohmann::json(nullptr)}};
}
inline void from_json(const nlohmann::json& j, Model& m) {
  const auto b = JsonBody::typed(j, Model::kFields);
  m.model_id = b.string("model_id");
  m.owner = b.string("owner");
  m.plan = b.array("plan");
  m.element_count = b.uint("element_count");
  m.mask_plan = b.value("mask_plan").is_null()
                    ? std::nullopt
                    : std::optional<nlohmann::json>(b.array("mask_plan"));
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
  g.dealers = b.objects<Dealer>("dealers");
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
  g.dealers = b.objects<Dealer>("dealers");
}

inline void to_json(nlohmann::json& j, const GroupRequest& r) {
  j = {{"dealers", r.dealers}};
}
inline void from_json(const nlohmann::json& j, GroupRequest& r) {
  r.dealers = JsonBody::typed(j, GroupRequest::kFields).strings("dealers");
}

inline void to_json(nlohmann::json& j, const Group& g) {
  j = {{"group_id", g.group_id}, {"members", g.members}, {"state", g.state}};
  if (g.error) j["error"] = *g.error;
}
inline void from_json(const nlohmann::json& j, Group& g) {
  const auto b = JsonBody::typed(j, Group::kFields);
  g.group_id = b.string("group_id");
  g.members = b.strings("members");
  g.state = b.string("state");
  g.error = b.optional_string("error");
}

inline void to_json(nlohmann::json& j, const GroupList& l) {
  j = {{"groups", l.groups}};
}
inline void from_json(const nlohmann::json& j, GroupList& l) {
  l.groups = JsonBody::typed(j, GroupList::kFields).objects<Group>("groups");
}

inline void to_json(nlohmann::json& j, const PoolRequest& r) {
  j = {{"model_id", r.model_id}, {"dealers", r.dealers}};
}
inline void from_json(const nlohmann::json& j, PoolRequest& r) {
  const auto b = JsonBody::typed(j, PoolRequest::kFields);
  r.model_id = b.string("model_id");
  r.dealers = b.strings("dealers");
}

inline void to_json(nlohmann::json& j, const PoolRef& r) {
  j = {{"model_id", r.model_id}, {"group_id", r.group_id}};
}
inline void from_json(const nlohmann::json& j, PoolRef& r) {
  const auto b = JsonBody::typed(j, PoolRef::kFields);
  r.model_id = b.string("model_id");
  r.group_id = b.string("group_id");
}

inline void to_json(nlohmann::json& j, const PoolBatches& c) {
  j = {{"generating", c.generating},
       {"available", c.available},
       {"bound", c.bound},
       {"failed", c.failed}};
}
inline void from_json(const nlohmann::json& j, PoolBatches& c) {
  const auto b = JsonBody::typed(j, PoolBatches::kFields);
  c.generating = b.uint("generating");
  c.available = b.uint("available");
  c.bound = b.uint("bound");
  c.failed = b.uint("failed");
}

inline void to_json(nlohmann::json& j, const Pool& p) {
  j = {{"model_id", p.model_id},
       {"group_id", p.group_id},
       {"batches", p.batches},
       {"generated_total", p.generated_total},
       {"failed_total", p.failed_total}};
  if (p.last_error) j["last_error"] = *p.last_error;
}
inline void from_json(const nlohmann::json& j, Pool& p) {
  const auto b = JsonBody::typed(j, Pool::kFields);
  p.model_id = b.string("model_id");
  p.group_id = b.string("group_id");
  p.batches = b.value("batches").get<PoolBatches>();
  p.generated_total = b.uint("generated_total");
  p.failed_total = b.uint("failed_total");
  p.last_error = b.optional_string("last_error");
}

inline void to_json(nlohmann::json& j, const PoolList& l) {
  j = {{"pools", l.pools}};
}
inline void from_json(const nlohmann::json& j, PoolList& l) {
  l.pools = JsonBody::typed(j, PoolList::kFields).objects<Pool>("pools");
}

}  // namespace ppi::super_dealer::api
