// The super dealer: registry of models, dealers and batch pools; binds each batch exactly once
// to one model owner and one client, and tells the batch's dealers.
#include "app/actor.hpp"
#include "super_dealer/sd_routes.hpp"

namespace {

void start(ppi::app::ServerActor& actor, const ppi::config::Config& cfg) {
  auto store = std::make_shared<ppi::super_dealer::RegistryStore>(actor.database_ptr());
  ppi::net::ClientOptions dealer_client;
  dealer_client.tls = ppi::app::tls_options(cfg);
  dealer_client.timeout = std::chrono::seconds(15);
  ppi::super_dealer::add_super_dealer_routes(actor.router(), store, dealer_client);
  actor.keep(store);
}

}  // namespace

int main(int argc, char** argv) {
  return ppi::app::run_server_actor(
      "super_dealer",
      "Super dealer: registry of models, dealer groups and batch pools; binds each batch once.",
      8440, {}, argc, argv, start);
}
