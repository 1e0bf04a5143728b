#pragma once
// The dealer's REST bodies (openapi/dealer.yaml) of binding and release, groups and generation,
// one definition each, read and written by its routes and by its callers: the super dealer
// telling it of a binding, forming a group and running a generation; the client fetching seeds. As
// in super_dealer/api.hpp: from_json checks the shape and names the field that does not fit;
// kFields is compared with the schema of the same name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json_body.hpp"
#include "ring/z2k.hpp"

namespace ppi::dealer::api {

inline constexpr std::string_view kBindPath = "/v1/bind";
inline constexpr std::string_view kSeedPath = "/v1/seed";
inline constexpr std::string_view kGroupsPath = "/v1/groups";
inline constexpr std::string_view kGroupKeysPath = "/v1/groups/keys";
inline constexpr std::string_view kGenerationsPath = "/v1/generations";

// GET /v1/generations/{batch_id}: one generation's state.
inline std::string generation_path(const std::string& batch_id) {
  return std::string(kGenerationsPath) + "/" + batch_id;
}
// POST /v1/batches/{batch_id}/fail: the super dealer failed the batch; the dealer fails its
// copy and deletes its material (DealerStore::withdraw).
inline std::string fail_path(const std::string& batch_id) {
  return "/v1/batches/" + batch_id + "/fail";
}

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

// Schema GroupRequest: POST /v1/groups, phase 1 of forming a group: the dealer records its
// membership; `members` in the group's order (sorted), `group_id` their ids joined by ','.
struct GroupRequest {
  std::string group_id;
  std::vector<std::string> members;
  static inline const JsonFields kFields = {{"group_id"}, {"members"}};
};

// Schema GroupMembership: the answer to POST /v1/groups; `index` is this dealer's position.
struct GroupMembership {
  std::string group_id;
  std::uint64_t index = 0;
  std::string state;  // forming | ready
  static inline const JsonFields kFields = {{"group_id"}, {"index"}, {"state"}};
};

// Schema Member: a member of the group and where its dealer mesh listens.
struct Member {
  std::string dealer_id;
  std::string grpc_endpoint;
  static inline const JsonFields kFields = {{"dealer_id"}, {"grpc_endpoint"}};
};

// Schema GroupMembers: POST /v1/groups/keys, phase 2: agree keys with these members.
struct GroupMembers {
  std::string group_id;
  std::vector<Member> members;  // the group's order
  static inline const JsonFields kFields = {{"group_id"}, {"members"}};
};

// Schema GroupReady: the answer to POST /v1/groups/keys.
struct GroupReady {
  std::string group_id;
  std::string state = "ready";
  static inline const JsonFields kFields = {{"group_id"}, {"state"}};
};

// Schema GenerationRequest: POST /v1/generations, generate a batch (or a mask set) with the
// group. `plan` and `mask_plan` are material::MaterialPlan's JSON, read by the route.
struct GenerationRequest {
  std::string batch_id;
  std::string model_id;
  std::string group_id;
  nlohmann::json plan;
  std::vector<Member> members;              // the group's order
  std::optional<nlohmann::json> mask_plan;  // a batch pairing with the group's mask set
  std::optional<std::string> kind;          // none: "batch"
  static inline const JsonFields kFields = {{"batch_id"},   {"model_id"}, {"group_id"},
                                            {"plan"},       {"members"},  {"mask_plan", false},
                                            {"kind", false}};
};

// Schema GenerationState: this dealer's state of a generation: the answer to POST
// /v1/generations (202), GET /v1/generations/{batch_id} and its abort.
struct GenerationState {
  std::string batch_id;
  std::string state;                 // generating | prepared | failed | ...
  std::optional<std::string> error;  // why it failed
  static inline const JsonFields kFields = {{"batch_id"}, {"state"}, {"error", false}};
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

inline void to_json(nlohmann::json& j, const GroupRequest& r) {
  j = {{"group_id", r.group_id}, {"members", r.members}};
}
inline void from_json(const nlohmann::json& j, GroupRequest& r) {
  const auto b = JsonBody::typed(j, GroupRequest::kFields);
  r.group_id = b.string("group_id");
  r.members = b.strings("members");
}

inline void to_json(nlohmann::json& j, const GroupMembership& m) {
  j = {{"group_id", m.group_id}, {"index", m.index}, {"state", m.state}};
}
inline void from_json(const nlohmann::json& j, GroupMembership& m) {
  const auto b = JsonBody::typed(j, GroupMembership::kFields);
  m.group_id = b.string("group_id");
  m.index = b.uint("index");
  m.state = b.string("state");
}

inline void to_json(nlohmann::json& j, const Member& m) {
  j = {{"dealer_id", m.dealer_id}, {"grpc_endpoint", m.grpc_endpoint}};
}
inline void from_json(const nlohmann::json& j, Member& m) {
  const auto b = JsonBody::typed(j, Member::kFields);
  m.dealer_id = b.string("dealer_id");
  m.grpc_endpoint = b.string("grpc_endpoint");
}

inline void to_json(nlohmann::json& j, const GroupMembers& r) {
  j = {{"group_id", r.group_id}, {"members", r.members}};
}
inline void from_json(const nlohmann::json& j, GroupMembers& r) {
  const auto b = JsonBody::typed(j, GroupMembers::kFields);
  r.group_id = b.string("group_id");
  r.members = b.objects<Member>("members");
}

inline void to_json(nlohmann::json& j, const GroupReady& r) {
  j = {{"group_id", r.group_id}, {"state", r.state}};
}
inline void from_json(const nlohmann::json& j, GroupReady& r) {
  const auto b = JsonBody::typed(j, GroupReady::kFields);
  r.group_id = b.string("group_id");
  r.state = b.string("state");
}

inline void to_json(nlohmann::json& j, const GenerationRequest& r) {
  j = {{"batch_id", r.batch_id},
       {"model_id", r.model_id},
       {"group_id", r.group_id},
       {"plan", r.plan},
       {"members", r.members}};
  if (r.mask_plan) j["mask_plan"] = *r.mask_plan;
  if (r.kind) j["kind"] = *r.kind;
}
inline void from_json(const nlohmann::json& j, GenerationRequest& r) {
  const auto b = JsonBody::typed(j, GenerationRequest::kFields);
  r.batch_id = b.string("batch_id");
  r.model_id = b.string("model_id");
  r.group_id = b.string("group_id");
  r.plan = b.array("plan");
  r.members = b.objects<Member>("members");
  r.mask_plan = b.optional_array("mask_plan");
  r.kind = b.optional_string("kind");
}

inline void to_json(nlohmann::json& j, const GenerationState& s) {
  j = {{"batch_id", s.batch_id}, {"state", s.state}};
  if (s.error) j["error"] = *s.error;
}
inline void from_json(const nlohmann::json& j, GenerationState& s) {
  const auto b = JsonBody::typed(j, GenerationState::kFields);
  s.batch_id = b.string("batch_id");
  s.state = b.string("state");
  s.error = b.optional_string("error");
}

}  // namespace ppi::dealer::api
