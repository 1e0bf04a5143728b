#include "dealer/group_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "dealer/api.hpp"
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

// The members of a GroupMembers or GenerationRequest, in the group's order.
std::vector<grpcsvc::MeshMember> mesh_members(const std::vector<api::Member>& members,
                                              const std::string& group_id) {
  std::vector<grpcsvc::MeshMember> out;
  std::vector<std::string> ids;
  for (const api::Member& m : members) {
    if (m.grpc_endpoint.empty() || m.grpc_endpoint.size() > 256 ||
        m.grpc_endpoint.find(':') == std::string::npos) {
      throw Error(Errc::invalid_argument, "grpc_endpoint must be host:port");
    }
    out.push_back({m.dealer_id, m.grpc_endpoint});
    ids.push_back(m.dealer_id);
  }
  check_group(group_id, ids);
  return out;
}

}  // namespace

void add_group_routes(net::Router& router, GroupServices services) {
  auto s = std::make_shared<GroupServices>(std::move(services));

  router.add(verb::post, std::string(api::kGroupsPath), {role::kSuperDealer},
             [s](const net::Request& req, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               const auto body = parse_body<api::GroupRequest>(req.body());
               auto members = check_group(body.group_id, body.members);
               GroupRecord g = s->groups->create(body.group_id, members);
               const api::GroupMembership answer{body.group_id, g.self, g.state};
               return net::json_response(status::ok, json(answer).dump());
             });

  router.add(verb::post, std::string(api::kGroupKeysPath), {role::kSuperDealer},
             [s](const net::Request& req, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               const auto body = parse_body<api::GroupMembers>(req.body());
               s->agreement->agree(body.group_id, mesh_members(body.members, body.group_id));
               return net::json_response(status::ok, json(api::GroupReady{body.group_id}).dump());
             });

  router.add(
      verb::post, std::string(api::kGenerationsPath), {role::kSuperDealer},
      [s](const net::Request& req, net::RequestContext& ctx) {
        require_super_dealer(ctx, *s);
        const auto body = parse_body<api::GenerationRequest>(req.body());
        GenerationRequest g{body.batch_id,
                            body.model_id,
                            body.group_id,
                            material::MaterialPlan::from_json(body.plan),
                            {}};
        check_batch_id(g.batch_id);
        check_name_id(g.model_id, "model_id");
        g.members = mesh_members(body.members, g.group_id);
        g.kind = body.kind.value_or(kBatch);
        check_batch_kind(g.kind);
        if (body.mask_plan) {
          if (g.kind == kMaskSet) {
            throw Error(Errc::invalid_argument,
                        "a mask set is made from its plan alone: no mask_plan");
          }
          g.mask_plan = material::MaterialPlan::from_json(*body.mask_plan);
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
        const api::GenerationState answer{batch_id, kBatches.name(BatchState::generating), {}};
        return net::json_response(status::accepted, json(answer).dump());
      });

  router.add(verb::get, api::generation_path("{batch_id}"), {role::kSuperDealer},
             [s](const net::Request&, net::RequestContext& ctx) {
               require_super_dealer(ctx, *s);
               const std::string& batch_id = ctx.path_params.at("batch_id");
               check_batch_id(batch_id);
               auto state = s->generations->state(batch_id);
               if (!state) throw Error(Errc::not_found, "unknown batch " + batch_id);
               api::GenerationState answer{batch_id, state->state, {}};
               if (!state->error.empty()) answer.error = state->error;
               return net::json_response(status::ok, json(answer).dump());
             });
}

}  // namespace ppi::dealer
