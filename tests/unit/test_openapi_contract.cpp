// The REST contract (issue 11 item 3, issue 14 item 6): every actor's served routes, taken from
// the code that builds its router (app::add_service_routes and the actor's add_routes, given
// stores over no database: nothing is read until a request comes), against
// openapi/<actor>.yaml. Every route served is documented with the roles it checks, every
// documented operation is served, and each operation documents the answers the router and the
// handlers can give (403 with roles, 400/415 with a body, 404 with a path parameter, a 2xx),
// its path parameters per operation, and the document lists its 405 and its origin server.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "app/actor.hpp"
#include "client/gateway.hpp"
#include "core/error.hpp"
#include "dealer/api.hpp"
#include "dealer/dealer_routes.hpp"
#include "model_owner/api.hpp"
#include "model_owner/mo_routes.hpp"
#include "openapi_doc.hpp"
#include "super_dealer/api.hpp"
#include "super_dealer/sd_routes.hpp"

namespace {

using ppi::net::Router;
using ppi::testing::OpenApiDocument;
using RouteTable = std::vector<Router::RouteInfo>;

const ppi::config::Config& service_config() {
  static const ppi::config::Config cfg = [] {
    auto specs = ppi::app::common_keys();
    for (auto& k : ppi::app::server_keys(0)) specs.push_back(std::move(k));
    // The model owner's readiness reads where its super dealer is.
    specs.push_back(ppi::config::string_key("super_dealer.url", "https://localhost:1", ""));
    specs.push_back(ppi::config::string_key("super_dealer.identity", "super_dealer", ""));
    const char* argv[] = {"test", "--tls.insecure=true"};
    return ppi::config::Config::parse("test", "", specs, 2, argv);
  }();
  return cfg;
}

RouteTable served(const std::string& actor) {
  if (actor == "client") {
    ppi::client::Gateway gateway(ppi::client::GatewaySettings{}, nullptr, nullptr);
    return gateway.routes();
  }
  Router router;
  ppi::app::add_service_routes(router, actor, service_config(), nullptr);
  if (actor == "super_dealer") {
    ppi::super_dealer::add_routes(router, {});
  } else if (actor == "dealer") {
    ppi::dealer::add_routes(router, std::make_shared<ppi::dealer::DealerStore>(nullptr), {},
                            ppi::dealer::GroupServices{});
  } else if (actor == "model_owner") {
    ppi::model_owner::add_routes(router, nullptr, nullptr, {}, "super_dealer");
  }
  return router.routes();
}

std::string key(std::string_view method, std::string_view path) {
  return std::string(method) + " " + std::string(path);
}

std::vector<std::string> path_parameters(const std::string& path) {
  std::vector<std::string> names;
  for (std::size_t open = path.find('{'); open != std::string::npos;
       open = path.find('{', open + 1)) {
    names.push_back(path.substr(open + 1, path.find('}', open) - open - 1));
  }
  return names;
}

// Every disagreement between the route table and the document, one line each.
std::vector<std::string> contract_problems(const RouteTable& routes, const OpenApiDocument& doc) {
  std::vector<std::string> problems;
  std::map<std::string, const Router::RouteInfo*> by_key;
  for (const auto& r : routes) {
    const std::string k = key(ppi::net::http::to_string(r.method), r.pattern);
    if (!by_key.emplace(k, &r).second) problems.push_back(k + ": served twice");
  }
  std::set<std::string> documented;
  for (const auto& op : doc.operations()) {
    const std::string k = key(op.method, op.path);
    documented.insert(k);
    const auto found = by_key.find(k);
    if (found == by_key.end()) {
      problems.push_back(k + ": documented but not served");
      continue;
    }
    std::set<std::string> served_roles(found->second->roles.begin(), found->second->roles.end());
    std::set<std::string> doc_roles(op.roles.begin(), op.roles.end());
    if (served_roles != doc_roles) {
      std::string s, d;
      for (const auto& r : served_roles) s += " " + r;
      for (const auto& r : doc_roles) d += " " + r;
      problems.push_back(k + ": x-roles [" + d + " ] but the route checks [" + s + " ]");
    }
    const auto needs = [&](const std::string& status, const std::string& why) {
      if (!op.statuses.contains(status))
        problems.push_back(k + ": " + status + " undocumented (" + why + ")");
    };
    if (!served_roles.empty()) needs("403", "the route checks roles");
    if (served_roles.empty() && op.statuses.contains("403")) {
      problems.push_back(k + ": 403 documented but the route checks no role");
    }
    if (op.has_body) {
      needs("400", "a body that does not fit");
      needs("415", "a body that is not application/json");
    }
    const auto params = path_parameters(op.path);
    if (!params.empty()) needs("404", "an unknown " + params.front());
    if (std::none_of(op.statuses.begin(), op.statuses.end(),
                     [](const std::string& s) { return s.size() == 3 && s[0] == '2'; })) {
      problems.push_back(k + ": no 2xx answer documented");
    }
    // Path parameters per operation (Swagger UI renders path-item ones as unnamed `any`).
    std::set<std::string> declared;
    for (const auto& p : op.operation.value("parameters", nlohmann::json::array())) {
      const auto& param = doc.resolve(p);
      if (param.value("in", "") == "path" && param.value("required", false))
        declared.insert(param.value("name", ""));
    }
    for (const auto& name : params) {
      if (!declared.contains(name)) {
        problems.push_back(k + ": path parameter '" + name + "' not declared (required, in: path)");
      }
    }
  }
  for (const auto& [path, item] : doc.root().at("paths").items()) {
    if (item.contains("parameters")) {
      problems.push_back(path + ": parameters at path-item level (declare them per operation)");
    }
  }
  for (const auto& [k, route] : by_key) {
    if (!documented.contains(k)) problems.push_back(k + ": served but not documented");
  }
  return problems;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

const char* const kActors[] = {"super_dealer", "dealer", "model_owner", "client"};

}  // namespace

TEST_CASE("openapi contract: every served route is documented and every documented one served") {
  for (const std::string actor : kActors) {
    CAPTURE(actor);
    const auto doc = OpenApiDocument::load(actor);
    const auto routes = served(actor);
    REQUIRE(routes.size() >= 4);  // health or models, and the documentation at least
    const auto problems = contract_problems(routes, doc);
    INFO(joined(problems));
    CHECK(problems.empty());
  }
}

TEST_CASE("openapi contract: the documents state the 405 answer and serve from their origin") {
  for (const std::string actor : kActors) {
    CAPTURE(actor);
    const auto doc = OpenApiDocument::load(actor);
    const std::string description = doc.root().at("info").at("description").get<std::string>();
    CHECK(description.find("405") != std::string::npos);
    CHECK(description.find("`Allow`") != std::string::npos);
    // Swagger UI then sends "Try it out" to the origin that served the page.
    REQUIRE(doc.root().at("servers").size() == 1);
    CHECK(doc.root().at("servers")[0].at("url") == "/");
  }
}

TEST_CASE("openapi contract: a route or an operation on one side only is found") {
  const auto doc = OpenApiDocument::load("dealer");
  auto routes = served("dealer");
  REQUIRE(contract_problems(routes, doc).empty());

  SUBCASE("a route added to the code only") {
    routes.push_back({ppi::net::http::verb::delete_, "/v1/seed", {"client"}});
    CHECK(
        joined(contract_problems(routes, doc)).find("DELETE /v1/seed: served but not documented") !=
        std::string::npos);
  }
  SUBCASE("an operation removed from the code") {
    routes.erase(std::remove_if(routes.begin(), routes.end(),
                                [](const auto& r) { return r.pattern == "/v1/bind"; }),
                 routes.end());
    CHECK(joined(contract_problems(routes, doc)).find("POST /v1/bind: documented but not served") !=
          std::string::npos);
  }
  SUBCASE("a role the document does not list") {
    for (auto& r : routes) {
      if (r.pattern == "/v1/seed") r.roles.push_back("operator");
    }
    CHECK(joined(contract_problems(routes, doc)).find("POST /v1/seed: x-roles") !=
          std::string::npos);
  }
  SUBCASE("a status the document leaves out") {
    auto root = doc.root();
    root["paths"]["/v1/seed"]["post"]["responses"].erase("415");
    const auto problems = joined(contract_problems(routes, OpenApiDocument(root)));
    CHECK(problems.find("POST /v1/seed: 415 undocumented") != std::string::npos);
  }
}

namespace {

namespace sd = ppi::super_dealer::api;
namespace dl = ppi::dealer::api;
namespace mo = ppi::model_owner::api;

struct TypedBody {
  const char* actor;
  const char* schema;
  const ppi::JsonFields& fields;
  nlohmann::json example;          // to_json of a typical value
  const char* property = nullptr;  // the schema of this property of `schema` (an inline one)
};

std::vector<TypedBody> typed_bodies() {
  const std::string batch = "6f1c2b3a-9d4e-4f50-8a61-7b2c3d4e5f60";
  const sd::Dealer dealer{"dealer-1", "https://localhost:8450", "localhost:8460"};
  const std::vector<std::string> ids = {"dealer-1", "dealer-2", "dealer-3"};
  const std::string group = "dealer-1,dealer-2,dealer-3";
  const auto plan = nlohmann::json::parse(R"([{"type": "TRIPLE", "count": 2}])");
  const auto mask_plan = nlohmann::json::parse(R"([{"type": "WEIGHT_MASK_4_8", "count": 2}])");
  const std::vector<dl::Member> members = {{"dealer-1", "localhost:8460"},
                                           {"dealer-2", "localhost:8461"},
                                           {"dealer-3", "localhost:8462"}};
  const sd::Group formed{group, ids, "ready", std::nullopt};
  const sd::Pool pool{"digits", group, {1, 2, 3, 0}, 6, 1, "dealer dealer-3: unreachable"};
  return {
      {"super_dealer", "DealerRegistered", sd::DealerRegistered::kFields,
       sd::DealerRegistered{"dealer-1"}},
      {"super_dealer", "DealerList", sd::DealerList::kFields, sd::DealerList{{dealer, dealer}}},
      {"super_dealer", "ModelRegistration", sd::ModelRegistration::kFields,
       sd::ModelRegistration{"digits", plan, mask_plan}},
      {"super_dealer", "ModelRegistered", sd::ModelRegistered::kFields,
       sd::ModelRegistered{"digits", 42}},
      {"super_dealer", "Model", sd::Model::kFields,
       sd::Model{"digits", "model-owner", plan, 42, std::nullopt}},
      {"super_dealer", "Model", sd::Model::kFields,
       sd::Model{"gpt2", "model-owner", plan, 42, mask_plan}},
      {"super_dealer", "GroupRequest", sd::GroupRequest::kFields, sd::GroupRequest{ids}},
      {"super_dealer", "Group", sd::Group::kFields, formed},
      {"super_dealer", "GroupList", sd::GroupList::kFields,
       sd::GroupList{{formed, sd::Group{group, ids, "forming", "dealer dealer-2: unreachable"}}}},
      {"super_dealer", "PoolRequest", sd::PoolRequest::kFields, sd::PoolRequest{"digits", ids}},
      {"super_dealer", "PoolRef", sd::PoolRef::kFields, sd::PoolRef{"digits", group}},
      {"super_dealer", "Pool", sd::Pool::kFields, pool},
      {"super_dealer", "Pool", sd::PoolBatches::kFields, pool.batches, "batches"},
      {"super_dealer", "PoolList", sd::PoolList::kFields, sd::PoolList{{pool}}},
      {"super_dealer", "Dealer", sd::Dealer::kFields, dealer},
      {"super_dealer", "BatchRequest", sd::BatchRequest::kFields,
       sd::BatchRequest{"digits", {"dealer-1", "dealer-2", "dealer-3"}, "client"}},
      {"super_dealer", "BatchGrant", sd::BatchGrant::kFields,
       sd::BatchGrant{batch, "digits", 42, {dealer, dealer, dealer}}},
      {"super_dealer", "MaskSetRequest", sd::MaskSetRequest::kFields,
       sd::MaskSetRequest{"digits", {"dealer-1", "dealer-2", "dealer-3"}}},
      {"super_dealer", "MaskSetGrant", sd::MaskSetGrant::kFields,
       sd::MaskSetGrant{batch,
                        "digits",
                        64,
                        nlohmann::json::parse(R"([{"type": "WEIGHT_MASK_4_8", "count": 2}])"),
                        {dealer, dealer, dealer}}},
      {"model_owner", "InferenceRequest", mo::InferenceRequest::kFields,
       mo::InferenceRequest{"digits", {"dealer-1", "dealer-2", "dealer-3"}}},
      {"model_owner", "InferenceDealer", mo::InferenceDealer::kFields,
       mo::InferenceDealer{"dealer-1", "https://localhost:8450"}},
      {"model_owner", "InferenceGrant", mo::InferenceGrant::kFields,
       mo::InferenceGrant{batch, "digits", 42, {{"dealer-1", "https://localhost:8450"}}}},
      {"dealer", "BindRequest", dl::BindRequest::kFields,
       dl::BindRequest{batch, "model_owner", "client", std::nullopt}},
      {"dealer", "BatchRef", dl::BatchRef::kFields, dl::BatchRef{batch}},
      {"dealer", "Seeds", dl::Seeds::kFields, dl::Seeds{batch, 7, (ppi::u128{1} << 100) + 3}},
      {"dealer", "GroupRequest", dl::GroupRequest::kFields, dl::GroupRequest{group, ids}},
      {"dealer", "GroupMembership", dl::GroupMembership::kFields,
       dl::GroupMembership{group, 1, "forming"}},
      {"dealer", "Member", dl::Member::kFields, members[0]},
      {"dealer", "GroupMembers", dl::GroupMembers::kFields, dl::GroupMembers{group, members}},
      {"dealer", "GroupReady", dl::GroupReady::kFields, dl::GroupReady{group}},
      {"dealer", "GenerationRequest", dl::GenerationRequest::kFields,
       dl::GenerationRequest{batch, "digits", group, plan, members, mask_plan, std::nullopt}},
      {"dealer", "GenerationRequest", dl::GenerationRequest::kFields,
       dl::GenerationRequest{batch, "gpt2", group, mask_plan, members, std::nullopt, "mask_set"}},
      {"dealer", "GenerationState", dl::GenerationState::kFields,
       dl::GenerationState{batch, "failed", "aborted by the super dealer"}},
  };
}

}  // namespace

TEST_CASE("openapi contract: each typed body has the fields of its schema and fits it") {
  for (const auto& body : typed_bodies()) {
    CAPTURE(body.actor);
    CAPTURE(body.schema);
    const std::string inner = body.property ? body.property : "";
    CAPTURE(inner);
    const auto doc = OpenApiDocument::load(body.actor);
    const nlohmann::json* named =
        &doc.resolve(doc.root().at("components").at("schemas").at(body.schema));
    if (body.property) named = &doc.resolve(named->at("properties").at(body.property));
    const auto& schema = *named;
    std::set<std::string> documented, required, fields, fields_required;
    for (const auto& [name, property] : schema.at("properties").items()) documented.insert(name);
    for (const auto& name : schema.value("required", nlohmann::json::array())) {
      required.insert(name.get<std::string>());
    }
    for (const auto& f : body.fields) {
      fields.insert(f.name);
      if (f.required) fields_required.insert(f.name);
    }
    CHECK(fields == documented);
    CHECK(fields_required == required);
    const auto problems = doc.mismatches(body.example, schema);
    INFO(joined(problems));
    CHECK(problems.empty());
  }
}

TEST_CASE("openapi contract: a typed body names the field it misses or does not know") {
  const auto message = [](auto parse) -> std::string {
    try {
      parse();
    } catch (const ppi::Error& e) {
      CHECK(e.code() == ppi::Errc::invalid_argument);
      return e.what();
    }
    return "no error";
  };
  CHECK(message([] {
          ppi::parse_body<sd::BatchRequest>(R"({"model_id": "m", "dealers": ["a", "b", "c"]})");
        }) == "missing field 'client_identity'");
  CHECK(message([] {
          ppi::parse_body<sd::BatchRequest>(
              R"({"model_id": "m", "dealers": "a", "client_identity": "c"})");
        }) == "'dealers' must be an array of strings");
  CHECK(message([] { ppi::parse_body<dl::BatchRef>(R"({"batch_id": "x", "extra": 1})"); }) ==
        "unknown field 'extra'");
  CHECK(message([] { ppi::parse_body<dl::BindRequest>(R"({"batch_id": "x"})"); }) ==
        "missing field 'model_owner_identity'");
  // Round trips: what a caller writes is what the route reads.
  const dl::Seeds seeds{"b", ppi::u128{1} << 127, 5};
  const auto back = nlohmann::json(seeds).get<dl::Seeds>();
  CHECK((back.shares_seed == seeds.shares_seed && back.mac_key_mask == 5));
  const auto bind =
      nlohmann::json(dl::BindRequest{"b", "mo", std::nullopt, "mask_set"}).get<dl::BindRequest>();
  CHECK_FALSE(bind.client_identity.has_value());
  CHECK(bind.kind == "mask_set");
  // Arrays of typed objects name the field inside the item that does not fit.
  CHECK(message([] {
          ppi::parse_body<dl::GroupMembers>(
              R"({"group_id": "a,b,c", "members": [{"dealer_id": "a"}]})");
        }) == "missing field 'grpc_endpoint'");
  CHECK(message([] {
          ppi::parse_body<dl::GroupMembers>(R"({"group_id": "a,b,c", "members": {}})");
        }) == "'members' must be an array");
  CHECK(message([] {
          ppi::parse_body<dl::GenerationRequest>(
              R"({"batch_id": "b", "model_id": "m", "group_id": "g", "plan": {}, "members": []})");
        }) == "'plan' must be an array");
  CHECK(message([] {
          ppi::parse_body<sd::ModelRegistration>(
              R"({"model_id": "m", "plan": [], "mask_plan": null})");
        }) == "'mask_plan' must be an array");
  CHECK(message([] {
          ppi::parse_body<sd::PoolList>(
              R"({"pools": [{"model_id": "m", "group_id": "g", "batches": {"generating": 0},
                  "generated_total": 0, "failed_total": 0}]})");
        }) == "missing field 'available'");
  CHECK(message([] { ppi::parse_body<sd::GroupRequest>(R"({"dealers": ["a"], "x": 1})"); }) ==
        "unknown field 'x'");
  const auto model = nlohmann::json(sd::Model{"m", "o", nlohmann::json::array(), 1, std::nullopt});
  CHECK(model.at("mask_plan").is_null());
  CHECK_FALSE(model.get<sd::Model>().mask_plan.has_value());
  const sd::Pool pool{"m", "g", {1, 2, 3, 4}, 5, 6, std::nullopt};
  const auto pool_back = nlohmann::json(pool).get<sd::Pool>();
  CHECK((pool_back.batches.bound == 3 && pool_back.failed_total == 6));
  CHECK_FALSE(nlohmann::json(pool).contains("last_error"));
  const auto generation =
      nlohmann::json(
          dl::GenerationRequest{
              "b", "m", "g", nlohmann::json::array(), {{"d", "h:1"}}, std::nullopt, "mask_set"})
          .get<dl::GenerationRequest>();
  CHECK((generation.members.at(0).grpc_endpoint == "h:1" && !generation.mask_plan &&
         generation.kind == "mask_set"));
}

TEST_CASE("openapi yaml: the subset the documents use") {
  const auto doc = ppi::testing::parse_yaml(R"(a: 1
b:
  - x
  - 'it''s' # a comment
  - {}
c: [d, 'e f', 2]
'200':
  text: |
    one
    two
  folded: >-
    one
    two
seq:
- k: v
  l: w
)");
  CHECK(doc["a"] == 1);
  CHECK(doc["b"] == nlohmann::json::array({"x", "it's", nlohmann::json::object()}));
  CHECK(doc["c"] == nlohmann::json::array({"d", "e f", 2}));
  CHECK(doc["200"]["text"] == "one\ntwo\n");
  CHECK(doc["200"]["folded"] == "one two");
  CHECK(doc["seq"][0]["l"] == "w");
  CHECK_THROWS(ppi::testing::parse_yaml("- a\nb: 1\n"));
  CHECK(ppi::testing::is_rfc3339("2026-12-01T20:14:52.980Z"));
  CHECK(ppi::testing::is_rfc3339("2026-12-01T20:14:52+01:00"));
  CHECK_FALSE(ppi::testing::is_rfc3339("2026-12-01 20:14:52.98+00"));
  CHECK_FALSE(ppi::testing::is_rfc3339("2026-12-01 20:14:52"));
}
