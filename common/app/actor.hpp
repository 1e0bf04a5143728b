#pragma once
// What every actor executable shares: its configuration keys, logging, its database (opened and
// migrated at start-up), and, for the three servers, the REST server with GET /healthz, run
// until SIGTERM or SIGINT. Failures at start-up become one clear line and a non-zero exit.

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "config/config.hpp"
#include "db/database.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"

namespace ppi::app {

// Keys every actor has: db.*, log.level, tls.*.
std::vector<config::KeySpec> common_keys();
// Keys of an actor that serves REST: listen.*, threads.*.
std::vector<config::KeySpec> server_keys(std::uint16_t default_port);

// TLS identity from tls.cert / tls.key / tls.ca, or nullopt when tls.insecure is true.
std::optional<net::TlsOptions> tls_options(const config::Config& cfg);

// Opens the database of db.url and applies the actor's migrations.
std::shared_ptr<db::Database> open_database(const config::Config& cfg, std::string_view actor);

// The routes every REST actor serves besides its own: GET /healthz (the database's dialect
// and a live ping), the documentation (app/docs.hpp), /metrics and /readyz
// (app/metrics_routes.hpp). Nothing is read from `db` until a request comes.
void add_service_routes(net::Router& router, const std::string& actor, const config::Config& cfg,
                        std::shared_ptr<db::Database> db);

// A REST actor: routes are added before run(); run() blocks until SIGTERM/SIGINT.
class ServerActor {
 public:
  ServerActor(std::string actor, const config::Config& cfg, std::shared_ptr<db::Database> db);
  net::Router& router() { return *router_; }
  db::Database& database() { return *db_; }
  const std::shared_ptr<db::Database>& database_ptr() const { return db_; }
  const config::Config& config() const { return cfg_; }
  // Keeps an object (a store, a gRPC server...) alive until the actor has stopped.
  void keep(std::shared_ptr<void> object) { kept_.push_back(std::move(object)); }
  // Called once the REST server listens (with its port), before requests are served; an
  // exception stops the actor.
  void on_listening(std::function<void(std::uint16_t)> hook) { listening_ = std::move(hook); }
  // Called when a signal asks the actor to stop, before the REST server stops.
  void on_stop(std::function<void()> hook) { stopping_ = std::move(hook); }
  // Starts the server, logs `listening`, waits for a signal, then stops cleanly.
  void run();

 private:
  std::string actor_;
  const config::Config& cfg_;
  std::shared_ptr<db::Database> db_;
  std::shared_ptr<net::Router> router_ = std::make_shared<net::Router>();
  std::vector<std::shared_ptr<void>> kept_;
  std::function<void(std::uint16_t)> listening_;
  std::function<void()> stopping_;
};

// The caller's mTLS identity (certificate CN); Error(unauthenticated) when there is none.
const std::string& require_identity(const net::RequestContext& ctx);

// The whole main() of a REST actor (app::run_cli): the command `serve`, the default, loads the
// configuration (common, server and extra keys), opens and migrates the database, lets
// `add_routes` add the actor's own routes, and serves until a signal; `commands` are the
// actor's others (e.g. `model_owner register ...`), listed by --help after serve.
int run_server_actor(const std::string& actor, const std::string& summary,
                     std::uint16_t default_port, std::vector<config::KeySpec> extra_keys, int argc,
                     const char* const* argv,
                     const std::function<void(ServerActor&, const config::Config&)>& add_routes,
                     std::vector<Command> commands = {});

// Runs an executable's body: --help prints the help and exits 0; an Error prints
// "<program>: error: <message>" and exits 2 for configuration errors, 1 otherwise.
int run_main(std::string_view program, const std::function<int()>& body);

}  // namespace ppi::app
