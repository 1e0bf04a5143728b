// The dealer: holds shares of material generated with its group, and releases masked shares
// (gRPC GetShares) to the bound model owner and seeds (REST /v1/seed) to the bound client.
#include "app/actor.hpp"
#include "app/malloc_tuning.hpp"
#include "dealer/dealer_routes.hpp"
#include "dealer/registration.hpp"
#include "dealer/share_source.hpp"
#include "grpc/share_service.hpp"
#include "obs/log.hpp"

namespace {

using ppi::config::integer_key;
using ppi::config::required_key;
using ppi::config::string_key;

std::vector<ppi::config::KeySpec> dealer_keys() {
  return {
      required_key("dealer.id", "this dealer's id (its certificate's CN under mTLS)"),
      integer_key("grpc.port", 8460, 0, 65535, "TCP port of the gRPC ShareDealer service"),
      string_key("public.host", "127.0.0.1",
                 "host name or address other actors use to reach this dealer"),
      string_key("super_dealer.url", "",
                 "REST URL of the super dealer to register with at start-up (empty: do not "
                 "register)"),
      string_key("super_dealer.identity", "super_dealer",
                 "certificate CN of the super dealer, the only caller that may bind batches"),
      integer_key("batch.ttl_seconds", 3600, 1, 30 * 24 * 3600,
                  "how long a bound batch may be fetched before it expires"),
  };
}

void start(ppi::app::ServerActor& actor, const ppi::config::Config& cfg) {
  using namespace ppi;
  auto store = std::make_shared<dealer::DealerStore>(actor.database_ptr());
  dealer::DealerSettings settings{cfg.get_string("dealer.id"),
                                  cfg.get_string("super_dealer.identity"),
                                  cfg.get_int("batch.ttl_seconds")};
  dealer::add_dealer_routes(actor.router(), store, settings);

  auto source = std::make_shared<dealer::DealerShareSource>(*store);
  auto service = std::make_shared<grpcsvc::ShareDealerService>(*source);
  auto tls = app::tls_options(cfg);
  auto grpc_server = std::make_shared<grpcsvc::GrpcServer>(
      cfg.get_string("listen.address"), static_cast<std::uint16_t>(cfg.get_int("grpc.port")), tls,
      std::vector<grpc::Service*>{service.get()});
  log::info("grpc_listening", {{"port", std::to_string(grpc_server->port())}});
  actor.keep(store);
  actor.keep(source);
  actor.keep(service);
  actor.keep(grpc_server);
  actor.on_stop([grpc_server] { grpc_server->shutdown(); });
  actor.on_listening([&cfg, settings, grpc_server](std::uint16_t rest_port) {
    if (cfg.get_string("super_dealer.url").empty()) return;
    std::string host = cfg.get_string("public.host");
    bool tls_on = !cfg.get_bool("tls.insecure");
    dealer::register_dealer(
        cfg, settings.dealer_id,
        std::string(tls_on ? "https://" : "http://") + host + ":" + std::to_string(rest_port),
        host + ":" + std::to_string(grpc_server->port()));
  });
}

}  // namespace

int main(int argc, char** argv) {
  ppi::app::tune_malloc_for_streaming();
  return ppi::app::run_server_actor(
      "dealer",
      "Dealer: holds shares of MPC material and serves seeds (REST) and masked shares (gRPC).",
      8450, dealer_keys(), argc, argv, start);
}
