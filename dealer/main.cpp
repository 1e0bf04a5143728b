// The dealer: holds shares of material generated with its group, and releases masked shares
// (gRPC GetShares) to the bound model owner and seeds (REST /v1/seed) to the bound client.
#include "app/actor.hpp"
#include "app/malloc_tuning.hpp"
#include "config/batch_keys.hpp"
#include "dealer/dealer_routes.hpp"
#include "dealer/expiry.hpp"
#include "dealer/registration.hpp"
#include "dealer/share_source.hpp"
#include "grpc/mesh_service.hpp"
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
      string_key("keys.master_key_file", "",
                 "file of 64 hex characters: the AES-256-GCM key that seals this dealer's group "
                 "keys at rest (empty: the dealer cannot join groups)"),
      integer_key("generation.threads", 2, 1, 64, "batches this dealer generates at once"),
      integer_key("generation.queue", 4, 0, 1024,
                  "generation requests accepted while the threads are busy"),
      integer_key("mesh.timeout_ms", 60000, 100, 3600000,
                  "how long a group member may stay unreachable or silent during generation"),
      integer_key("mesh.max_message_bytes", std::int64_t{1} << 30, 1 << 20, std::int64_t{1} << 34,
                  "largest message accepted from another member"),
  };
}

// Groups, the mesh and generation: what the dealer needs to make material with its groups.
// Members are destroyed in reverse order: the runner before the stores and the mesh it uses.
struct GenerationParts {
  std::optional<ppi::dealer::MasterKey> master;
  std::shared_ptr<ppi::dealer::GroupStore> groups;
  std::shared_ptr<ppi::dealer::GroupAgreement> agreement;
  std::unique_ptr<ppi::grpcsvc::MeshService> mesh;
  std::unique_ptr<ppi::grpcsvc::MeshNetwork> network;
  std::shared_ptr<ppi::dealer::GenerationStore> generations;
  std::shared_ptr<ppi::dealer::GenerationRunner> runner;
};

// Returns what the group routes use.
ppi::dealer::GroupServices start_generation(ppi::app::ServerActor& actor,
                                            const ppi::config::Config& cfg,
                                            std::vector<grpc::Service*>& grpc_services) {
  using namespace ppi;
  const std::string dealer_id = cfg.get_string("dealer.id");
  auto parts = std::make_shared<GenerationParts>();
  if (!cfg.get_string("keys.master_key_file").empty()) {
    parts->master = dealer::MasterKey::load(cfg.get_string("keys.master_key_file"));
  }
  parts->groups =
      std::make_shared<dealer::GroupStore>(actor.database_ptr(), dealer_id, parts->master);
  parts->agreement = std::make_shared<dealer::GroupAgreement>(*parts->groups, dealer_id);
  parts->mesh = std::make_unique<grpcsvc::MeshService>(
      *parts->agreement, static_cast<std::uint64_t>(cfg.get_int("mesh.max_message_bytes")));
  parts->network = std::make_unique<grpcsvc::MeshNetwork>(
      *parts->mesh,
      grpcsvc::MeshOptions{app::tls_options(cfg),
                           std::chrono::milliseconds(cfg.get_int("mesh.timeout_ms"))});
  parts->agreement->set_network(parts->network.get());
  parts->generations = std::make_shared<dealer::GenerationStore>(actor.database_ptr());
  parts->generations->discard_unfinished();
  parts->runner = std::make_shared<dealer::GenerationRunner>(
      *parts->generations, *parts->groups, *parts->network,
      static_cast<std::size_t>(cfg.get_int("generation.threads")),
      static_cast<std::size_t>(cfg.get_int("generation.queue")));
  grpc_services.push_back(parts->mesh.get());
  actor.keep(parts);
  return {parts->groups, parts->agreement, parts->generations, parts->runner,
          cfg.get_string("super_dealer.identity")};
}

void start(ppi::app::ServerActor& actor, const ppi::config::Config& cfg) {
  using namespace ppi;
  auto store = std::make_shared<dealer::DealerStore>(actor.database_ptr());
  // Streams of a previous run of this dealer died with it: their leases would refuse the model
  // owner's resume until they ran out.
  if (const auto cleared = store->clear_share_leases(); cleared > 0)
    log::info("share_leases_cleared", {{"batches", std::to_string(cleared)}});
  dealer::DealerSettings settings{cfg.get_string("dealer.id"),
                                  cfg.get_string("super_dealer.identity"),
                                  cfg.get_int("batch.ttl_seconds")};
  auto source = std::make_shared<dealer::DealerShareSource>(*store);
  auto service = std::make_shared<grpcsvc::ShareDealerService>(*source);
  auto tls = app::tls_options(cfg);
  std::vector<grpc::Service*> grpc_services{service.get()};
  // The mesh identifies members by their certificate: no groups on a plain-TCP deployment.
  std::optional<dealer::GroupServices> groups;
  if (tls) groups = start_generation(actor, cfg, grpc_services);
  dealer::add_routes(actor.router(), store, settings, std::move(groups));
  auto grpc_server = std::make_shared<grpcsvc::GrpcServer>(
      cfg.get_string("listen.address"), static_cast<std::uint16_t>(cfg.get_int("grpc.port")), tls,
      grpc_services);
  log::info("grpc_listening", {{"port", std::to_string(grpc_server->port())}});
  auto sweeper = std::make_shared<dealer::ExpirySweeper>(
      *store, std::chrono::seconds(cfg.get_int("batch.expiry_interval_seconds")));
  actor.keep(store);
  actor.keep(sweeper);
  actor.on_stop([sweeper] { sweeper->stop(); });
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
      8450, ppi::config::with_batch_expiry_keys(dealer_keys()), argc, argv, start);
}
