#include "dealer/group_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "dealer/batch_state.hpp"
#include "material/mask_pairing.hpp"
#include "net/tls.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

using net::http::status;
using net::http::verb;
namespace role = net::role;
using nlohmann::json;

void require_super_dealer(const net::RequestContext& ctx, const GroupServices& s) {
  if (app::require_identity(ctx) != s.super_dealer_identity) {
    throw Error(Errc::permission_denied, "only the super dealer manages groups and generation");
  }
}

// A group id is the canonical key of its members (sorted ids joined by ','), 3 to 10 of them.
std::vector<std::string> check_group(const std::string& group_id,
                                     const std::vector<std::string>& members) {
  std::vector<std::string> sorted = check_dealer_group(members);
  if (sorted.size() < 3) {
    throw Error(Errc::invalid_argument, "a generating group has 3 to 10 dealers");
  }
  if (sorted != members || group_key(sorted) != group_id) {
    throw Error(Errc::invalid_argument,
                "group_id must be the members' sorted ids joined by ',', members in that order");
  }
  return sorted;
}

const json& field(const JsonBody& body, const char* name) {
  if (!body.raw().contains(name)) {
    throw Error(Errc::invalid_argument, std::string("missing field '") + name + "'");
  }
  return body.raw().at(name);
}

// [{"dealer_id": ..., "grpc_endpoint": ...}, ...] in the group's order.
std::vector<grpcsvc::MeshMember> parse_members(const JsonBody& body, const std::string& group_id) {
  const json& list = field(body, "members");
  if (!list.is_array()) throw Error(Errc::invalid_argument, "members must be an array");
  std::vector<grpcsvc::MeshMember> out;
  std::vector<std::string> ids;
  for (const json& m : list) {
    if (!m.is_object() || m.size() != 2 || !m.contains("dealer_id") ||
        !m.contains("grpc_endpoint") || !m["dealer_id"].is_string() ||
        !m["grpc_endpoint"].is_string()) {
      throw Error(Errc::invalid_argument,
                  "each member is {\"dealer_id\": ..., \"grpc_endpoint\": ...}");
    }
    std::string endpoint = m["grpc_endpoint"].get<std::string>();
    if (endpoint.empty() || endpoint.size() > 256 || endpoint.find(':') == std::string::npos) {
      throw Error(Errc::invalid_argument, "grpc_endpoint must be host:port");
    }
    out.push_back({m["dealer_id"].get<std::string>(), std::move(endpoint)});
    ids.push_back(out.back().id);
  }
  check_group(group_id, ids);
  return out;
}

}  // namespace

void add_group_routes(net::Router& router, GroupServices services) {
  auto s = std::make_shared<GroupServices>(std::move(services));

  router.add(verb::post, "/v1/groups", {role::kSuperDealer},
             [s](const net::Request& req, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               JsonBody body(req.body(), {"group_id", "members"});
               const std::string group_id = body.string("group_id");
               auto members = check_group(group_id, body.strings("members"));
               GroupRecord g = s->groups->create(group_id, members);
               return net::json_response(
                   status::ok,
                   json{{"group_id", group_id}, {"index", g.self}, {"state", g.state}}.dump());
             });

  router.add(verb::post, "/v1/groups/keys", {role::kSuperDealer},
             [s](const net::Request& req, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               JsonBody body(req.body(), {"group_id", "members"});
               const std::string group_id = body.string("group_id");
               s->agreement->agree(group_id, parse_members(body, group_id));
               return net::json_response(status::ok,
                                         json{{"group_id", group_id}, {"state", "ready"}}.dump());
             });

  router.add(
      verb::post, "/v1/generations", {role::kSuperDealer},
      [s](const net::Request& req, net::RequestContext& ctx) {
        require_super_dealer(ctx, *s);
        JsonBody body(req.body(),
                      {"batch_id", "model_id", "group_id", "plan", "members", "mask_plan", "kind"});
        GenerationRequest g{body.string("batch_id"),
                            body.string("model_id"),
                            body.string("group_id"),
                            material::MaterialPlan::from_json(field(body, "plan")),
                            {}};
        check_batch_id(g.batch_id);
        check_name_id(g.model_id, "model_id");
        g.members = parse_members(body, g.group_id);
        if (body.raw().contains("kind")) g.kind = body.string("kind");
        check_batch_kind(g.kind);
        if (body.raw().contains("mask_plan")) {
          if (g.kind == kMaskSet) {
            throw Error(Errc::invalid_argument,
                        "a mask set is made from its plan alone: no mask_plan");
          }
          g.mask_plan = material::MaterialPlan::from_json(field(body, "mask_plan"));
        }
        // Refused here rather than failed in the generation: a mask plan or mask set with anything
        // but WEIGHT_MASKs, or a MASKED_TRIPLE without a mask.
        if (g.kind == kMaskSet) {
          material::MaskPairer check(&g.plan);
        } else {
          material::MaskPairing(g.plan, g.mask_plan ? &*g.mask_plan : nullptr).require_all_paired();
        }
        const std::string batch_id = g.batch_id, kind = g.kind;
        s->runner->start(std::move(g));
        log::info("generation_accepted", {{"batch_id", batch_id}, {"kind", kind}});
        return net::json_response(
            status::accepted,
            json{{"batch_id", batch_id}, {"state", kBatches.name(BatchState::generating)}}.dump());
      });

  router.add(verb::get, "/v1/generations/{batch_id}", {role::kSuperDealer},
             [s](const net::Request&, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               const std::string& batch_id = ctx.path_params.at("batch_id");
               check_batch_id(batch_id);
               auto state = s->generations->state(batch_id);
               if (!state) throw Error(Errc::not_found, "unknown batch " + batch_id);
               json doc = {{"batch_id", batch_id}, {"state", state->state}};
               if (!state->error.empty()) doc["error"] = state->error;
               return net::json_response(status::ok, doc.dump());
             });

  router.add(
      verb::post, "/v1/generations/{batch_id}/abort", {role::kSuperDealer},
      [s](const net::Request&, net::RequestContext& ctx) {
        require_super_dealer(ctx, *s);
        const std::string& batch_id = ctx.path_params.at("batch_id");
        check_batch_id(batch_id);
        s->generations->fail(batch_id, "aborted by the super dealer");
        log::info("generation_aborted", {{"batch_id", batch_id}});
        return net::json_response(
            status::ok,
            json{{"batch_id", batch_id}, {"state", kBatches.name(BatchState::failed)}}.dump());
      });
}

}  // namespace ppi::dealer
