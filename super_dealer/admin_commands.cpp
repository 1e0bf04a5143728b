#include "super_dealer/admin_commands.hpp"

#include <iostream>

#include "app/actor.hpp"
#include "core/ids.hpp"
#include "super_dealer/group_routes.hpp"

namespace ppi::super_dealer {

int run_admin_command(const config::Config& cfg, std::shared_ptr<db::Database> db) {
  const auto& words = cfg.positional();
  RegistryStore registry(db);
  GroupRegistry groups(db);
  const std::string& command = words.at(0);
  if (command == "group" && words.size() >= 2) {
    net::ClientOptions client;
    client.tls = app::tls_options(cfg);
    client.timeout = std::chrono::seconds(120);
    GroupRecord g =
        form_group(registry, groups, client, {words.begin() + 1, words.end()}, "operator");
    std::cout << "group_id=" << g.group_id << " state=" << g.state << "\n";
    return 0;
  }
  if (command == "pool" && words.size() >= 3) {
    check_name_id(words[1], "model");
    if (!registry.model(words[1])) throw Error(Errc::not_found, "unknown model '" + words[1] + "'");
    const std::string group_id = group_key(check_dealer_group({words.begin() + 2, words.end()}));
    groups.add_pool(words[1], group_id);
    std::cout << "pool model=" << words[1] << " group_id=" << group_id << "\n";
    return 0;
  }
  if (command == "pools" && words.size() == 1) {
    for (const auto& p : groups.pools()) {
      std::cout << "model=" << p.model_id << " group_id=" << p.group_id;
      for (const char* state : {"generating", "available", "bound", "failed"}) {
        std::cout << " " << state << "=" << groups.count(p.model_id, p.group_id, state);
      }
      std::cout << "\n";
    }
    return 0;
  }
  throw Error(
      Errc::config,
      "usage: super_dealer group DEALER... | pool MODEL DEALER... | pools (got '" + command + "')");
}

}  // namespace ppi::super_dealer
