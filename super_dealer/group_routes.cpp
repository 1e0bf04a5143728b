#include "super_dealer/group_routes.hpp"

#include "core/ids.hpp"
#include "core/json_body.hpp"
#include "dealer/api.hpp"
#include "net/json_call.hpp"
#include "net/tls.hpp"
#include "obs/log.hpp"
#include "super_dealer/api.hpp"
#include "super_dealer/dealer_calls.hpp"

namespace ppi::super_dealer {
namespace {

using net::http::status;
using net::http::verb;
namespace role = net::role;
using nlohmann::json;

// The group's canonical order: its ids sorted; 3 to 10 of them (t = 1 needs n >= 3).
std::vector<std::string> check_generating_group(const std::vector<std::string>& requested) {
  std::vector<std::string> sorted = check_dealer_group(requested);
  if (sorted.size() < 3) {
    throw Error(Errc::invalid_argument, "a dealer group has 3 to 10 dealers");
  }
  return sorted;
}

api::Group group_api(const GroupRecord& g) {
  api::Group out{g.group_id, g.members, g.state, std::nullopt};
  if (!g.error.empty()) out.error = g.error;
  return out;
}

}  // namespace

// Phase 1 on every member (record it, draw keys), then phase 2 (agree keys over the mesh):
// phase 2 needs every member's phase 1 done, since members exchange keys with each other.
GroupRecord form_group(RegistryStore& registry, GroupRegistry& groups,
                       const net::ClientOptions& options,
                       const std::vector<std::string>& dealers_in, const std::string& caller) {
  const std::vector<std::string> members = check_generating_group(dealers_in);
  std::vector<DealerRecord> dealers = registry.dealers(members);
  const std::string group_id = group_key(members);
  GroupRecord g = groups.create_group(group_id, members, caller);
  if (g.state == "ready") return g;
  try {
    const json record = dealer::api::GroupRequest{group_id, members};
    for_each_dealer(dealers, [&](const DealerRecord& d) {
      call_dealer(options, d, verb::post, std::string(dealer::api::kGroupsPath), record);
    });
    const json agree = dealer::api::GroupMembers{group_id, mesh_members(dealers)};
    for_each_dealer(dealers, [&](const DealerRecord& d) {
      try {
        call_dealer(options, d, verb::post, std::string(dealer::api::kGroupKeysPath), agree);
      } catch (const Error& e) {
        throw Error(e.code(), "dealer " + d.dealer_id + ": " + e.what());
      }
    });
  } catch (const Error& e) {
    groups.mark_group(group_id, false, e.what());
    log::warn("group_formation_failed", {{"group_id", group_id}, {"reason", e.what()}});
    throw;
  }
  groups.mark_group(group_id, true, "");
  log::info("group_formed", {{"group_id", group_id}, {"by", caller}});
  return *groups.group(group_id);
}

void add_group_routes(net::Router& router, std::shared_ptr<RegistryStore> registry,
                      std::shared_ptr<GroupRegistry> groups, net::ClientOptions dealer_client) {
  router.add(verb::post, std::string(api::kGroupsPath), {role::kOperator},
             [registry, groups, dealer_client](const net::Request& req, net::RequestContext& ctx) {
               const std::string& caller = app::require_identity(ctx);
               const auto body = parse_body<api::GroupRequest>(req.body());
               auto members = check_generating_group(body.dealers);
               GroupRecord g = form_group(*registry, *groups, dealer_client, members, caller);
               return net::json_response(status::ok, json(group_api(g)).dump());
             });

  router.add(verb::get, std::string(api::kGroupsPath), {role::kOperator},
             [groups](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               api::GroupList answer;
               for (const auto& g : groups->groups()) answer.groups.push_back(group_api(g));
               return net::json_response(status::ok, json(answer).dump());
             });

  router.add(verb::post, std::string(api::kPoolsPath), {role::kOperator},
             [registry, groups](const net::Request& req, net::RequestContext&) {
               const auto body = parse_body<api::PoolRequest>(req.body());
               const std::string& model_id = body.model_id;
               check_name_id(model_id, "model_id");
               auto members = check_generating_group(body.dealers);
               // The operator keeps pools for any registered model (Roles, docs/operations.md).
               if (!registry->model(model_id)) {
                 throw Error(Errc::not_found, "unknown model '" + model_id + "'");
               }
               const std::string group_id = group_key(members);
               groups->add_pool(model_id, group_id);
               log::info("pool_added", {{"model_id", model_id}, {"group_id", group_id}});
               return net::json_response(status::ok, json(api::PoolRef{model_id, group_id}).dump());
             });

  router.add(verb::get, std::string(api::kPoolsPath), {role::kOperator},
             [groups](const net::Request&, net::RequestContext& ctx) {
               app::require_identity(ctx);
               api::PoolList answer;
               for (const auto& p : groups->pools()) {
                 const auto count = [&](const char* state) {
                   return static_cast<std::uint64_t>(groups->count(p.model_id, p.group_id, state));
                 };
                 api::Pool pool{
                     p.model_id,
                     p.group_id,
                     {count("generating"), count("available"), count("bound"), count("failed")},
                     static_cast<std::uint64_t>(p.generated_total),
                     static_cast<std::uint64_t>(p.failed_total),
                     std::nullopt};
                 if (!p.last_error.empty()) pool.last_error = p.last_error;
                 answer.pools.push_back(std::move(pool));
               }
               return net::json_response(status::ok, json(answer).dump());
             });
}

}  // namespace ppi::super_dealer
