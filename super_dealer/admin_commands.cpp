#include "super_dealer/admin_commands.hpp"

#include "app/actor.hpp"
#include "core/ids.hpp"
#include "super_dealer/group_routes.hpp"

namespace ppi::super_dealer {
namespace {

using nlohmann::ordered_json;

// The states a batch moves through (db_schema batches.state), in that order.
constexpr const char* kBatchStates[] = {"generating", "available", "bound",
                                        "consumed",   "expired",   "failed"};

int group_command(app::CommandContext& ctx) {
  RegistryStore registry(ctx.db);
  GroupRegistry groups(ctx.db);
  net::ClientOptions client;
  client.tls = app::tls_options(ctx.cfg);
  client.timeout = std::chrono::seconds(120);
  GroupRecord g = form_group(registry, groups, client, ctx.args, "operator");
  ctx.out.record({{"group_id", g.group_id}, {"state", g.state}});
  return 0;
}

int pool_command(app::CommandContext& ctx) {
  RegistryStore registry(ctx.db);
  GroupRegistry groups(ctx.db);
  const std::string& model = ctx.args[0];
  check_name_id(model, "model");
  if (!registry.model(model)) throw Error(Errc::not_found, "unknown model '" + model + "'");
  const std::string group_id =
      group_key(check_dealer_group({ctx.args.begin() + 1, ctx.args.end()}));
  groups.add_pool(model, group_id);
  ctx.out.record({{"pool", "added"}, {"model", model}, {"group_id", group_id}});
  return 0;
}

int pools_command(app::CommandContext& ctx) {
  GroupRegistry groups(ctx.db);
  auto rows = ordered_json::array();
  for (const auto& p : groups.pools()) {
    ordered_json row = {{"model", p.model_id}, {"group_id", p.group_id}};
    for (const char* state : {"generating", "available", "bound", "failed"}) {
      row[state] = groups.count(p.model_id, p.group_id, state);
    }
    rows.push_back(std::move(row));
  }
  ctx.out.records("pools", rows);
  return 0;
}

int models_command(app::CommandContext& ctx) {
  auto s = ctx.db->acquire();
  auto rows = ordered_json::array();
  for (const auto& r : s.exec("SELECT model_id, owner_identity, element_count FROM models ORDER "
                              "BY model_id")
                           .rows) {
    ordered_json row = {{"model", r.get_string(0)},
                        {"owner", r.get_string(1)},
                        {"elements_per_batch", r.get_int(2)}};
    for (const char* state : kBatchStates) row[state] = 0;
    rows.push_back(std::move(row));
  }
  for (const auto& r : s.exec("SELECT model_id, state, COUNT(*) FROM batches WHERE kind = "
                              "'batch' GROUP BY model_id, state")
                           .rows) {
    for (auto& row : rows) {
      if (row["model"] == r.get_string(0)) row[r.get_string(1)] = r.get_int(2);
    }
  }
  ctx.out.table("models", {"model", "owner", "elements_per_batch", "available", "bound", "failed"},
                rows);
  return 0;
}

int batches_command(app::CommandContext& ctx) {
  const std::string model = ctx.cfg.get_string("model");
  const std::string state = ctx.cfg.get_string("state");
  std::string sql =
      "SELECT batch_id, model_id, dealer_group, kind, state, model_owner_identity, "
      "client_identity FROM batches WHERE 1 = 1";
  std::vector<db::Param> params;
  if (!model.empty()) {
    sql += " AND model_id = ?";
    params.emplace_back(model);
  }
  if (!state.empty()) {
    sql += " AND state = ?";
    params.emplace_back(state);
  }
  sql += " ORDER BY model_id, created_at, batch_id";
  auto s = ctx.db->acquire();
  auto rows = ordered_json::array();
  for (const auto& r : s.exec(sql, params).rows) {
    auto text = [&](std::size_t i) {
      return r.is_null(i) ? ordered_json() : ordered_json(r.get_string(i));
    };
    rows.push_back(ordered_json{{"batch_id", r.get_string(0)},
                                {"model", r.get_string(1)},
                                {"group_id", r.get_string(2)},
                                {"kind", r.get_string(3)},
                                {"state", r.get_string(4)},
                                {"model_owner", text(5)},
                                {"client", text(6)}});
  }
  ctx.out.table("batches", {"batch_id", "model", "group_id", "kind", "state", "client"}, rows);
  return 0;
}

int groups_command(app::CommandContext& ctx) {
  GroupRegistry groups(ctx.db);
  auto rows = ordered_json::array();
  for (const auto& g : groups.groups()) {
    rows.push_back(
        ordered_json{{"group_id", g.group_id},
                     {"state", g.state},
                     {"members", g.members.size()},
                     {"error", g.error.empty() ? ordered_json() : ordered_json(g.error)}});
  }
  ctx.out.table("groups", {"group_id", "state", "members", "error"}, rows);
  return 0;
}

}  // namespace

std::vector<app::Command> admin_commands() {
  std::vector<app::Command> commands;
  auto add = [&](std::string name, std::string arguments, std::string summary, std::size_t min_args,
                 std::size_t max_args, int (*run)(app::CommandContext&)) {
    app::Command c;
    c.name = std::move(name);
    c.arguments = std::move(arguments);
    c.summary = std::move(summary);
    c.database = true;
    // group calls the dealers; every command's audit entries name this process by its
    // certificate (app::open_database), so all of them load it.
    c.tls = true;
    c.min_args = min_args;
    c.max_args = max_args;
    c.run = run;
    commands.push_back(std::move(c));
  };
  constexpr auto any = std::numeric_limits<std::size_t>::max();
  add("group", "DEALER...", "form the group of these registered dealers (3 to 10; they agree keys)",
      1, any, group_command);
  add("pool", "MODEL DEALER...", "keep a pool of MODEL's batches generated by that ready group", 2,
      any, pool_command);
  add("pools", "", "one line per pool: its batches per state", 0, 0, pools_command);
  add("models", "", "the registered models and their batches per state", 0, 0, models_command);
  add("batches", "", "the batches (--model, --state to filter), one row each", 0, 0,
      batches_command);
  commands.back().own_keys = {
      config::string_key("model", "", "batches: only this model's (empty: every model's)"),
      config::choice_key("state", "",
                         {"generating", "available", "bound", "consumed", "expired", "failed"},
                         "batches: only the batches in this state (empty: every state)")};
  add("groups", "", "the dealer groups: state, members, why forming failed", 0, 0, groups_command);
  return commands;
}

}  // namespace ppi::super_dealer
