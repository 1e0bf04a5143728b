// The super dealer: registry of models, dealers, dealer groups and batch pools; keeps the pools
// filled by asking groups to generate, and binds each batch exactly once to one model owner
// and one client, and tells the batch's dealers.
#include "app/actor.hpp"
#include "super_dealer/admin_commands.hpp"
#include "super_dealer/audit_command.hpp"
#include "super_dealer/pool_keeper.hpp"
#include "super_dealer/sd_routes.hpp"

namespace {

using ppi::config::integer_key;

std::vector<ppi::config::KeySpec> super_dealer_keys() {
  std::vector<ppi::config::KeySpec> keys = {
      integer_key("triple_pool.min_size", 2, 0, 100000,
                  "a pool with fewer available batches than this starts refilling"),
      integer_key("triple_pool.max_size", 4, 1, 100000,
                  "a refilling pool stops once this many batches are available or generating"),
      integer_key("triple_pool.concurrency", 1, 1, 64, "generations in flight per pool at once"),
      integer_key("triple_pool.interval_ms", 500, 10, 600000,
                  "how often pools and running generations are checked"),
      integer_key("triple_pool.retry_ms", 2000, 0, 3600000,
                  "pause of a pool after one of its generations failed"),
      integer_key("generation.timeout_seconds", 600, 1, 7 * 24 * 3600,
                  "a generation not prepared on every member by then is failed"),
  };
  for (auto& k : ppi::super_dealer::audit_keys()) keys.push_back(std::move(k));
  return keys;
}

void start(ppi::app::ServerActor& actor, const ppi::config::Config& cfg) {
  using namespace ppi;
  auto store = std::make_shared<super_dealer::RegistryStore>(actor.database_ptr());
  auto groups = std::make_shared<super_dealer::GroupRegistry>(actor.database_ptr());
  net::ClientOptions dealer_client;
  dealer_client.tls = app::tls_options(cfg);
  dealer_client.timeout = std::chrono::seconds(15);
  const auto keeper_interval = std::chrono::milliseconds(cfg.get_int("triple_pool.interval_ms"));
  // Forming a group waits for every member's key agreement, which waits for the others.
  net::ClientOptions formation_client = dealer_client;
  formation_client.timeout = std::chrono::seconds(120);
  super_dealer::add_routes(
      actor.router(), {actor.database_ptr(), store, groups, keeper_interval, dealer_client,
                       formation_client, super_dealer::audit_sources(cfg, actor.database_ptr()),
                       cfg.get_int("batch.retention_seconds")});

  super_dealer::PoolSettings pool;
  pool.min_size = cfg.get_int("triple_pool.min_size");
  pool.max_size = cfg.get_int("triple_pool.max_size");
  pool.concurrency = cfg.get_int("triple_pool.concurrency");
  pool.interval = std::chrono::milliseconds(cfg.get_int("triple_pool.interval_ms"));
  pool.retry_delay = std::chrono::milliseconds(cfg.get_int("triple_pool.retry_ms"));
  pool.generation_timeout = std::chrono::seconds(cfg.get_int("generation.timeout_seconds"));
  net::ClientOptions keeper_client = dealer_client;
  keeper_client.timeout = std::chrono::seconds(5);
  auto keeper = std::make_shared<super_dealer::PoolKeeper>(store, groups, keeper_client, pool);
  actor.on_listening([keeper](std::uint16_t) { keeper->start(); });
  actor.on_stop([keeper] { keeper->stop(); });
  actor.keep(store);
  actor.keep(groups);
  actor.keep(keeper);
}

std::vector<ppi::app::Command> commands() {
  auto all = ppi::super_dealer::admin_commands();
  all.push_back(ppi::super_dealer::audit_command());
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  return ppi::app::run_server_actor(
      "super_dealer",
      "Super dealer: registry of models, dealer groups and batch pools; keeps pools filled by "
      "generation and binds each batch once.",
      8440, super_dealer_keys(), argc, argv, start, commands());
}
