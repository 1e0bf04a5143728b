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

// Applies log.level, opens the database of db.url and applies the actor's migrations.
std::shared_ptr<db::Database> open_database(const config::Config& cfg, std::string_view actor);

// A REST actor: routes are added before run(); run() blocks until SIGTERM/SIGINT.
class ServerActor {
 public:
  ServerActor(std::string actor, const config::Config& cfg, std::shared_ptr<db::Database> db);
  net::Router& router() { return *router_; }
  db::Database& database() { return *db_; }
  // Starts the server, logs `listening`, waits for a signal, then stops cleanly.
  void run();

 private:
  net::Response health() const;

  std::string actor_;
  const config::Config& cfg_;
  std::shared_ptr<db::Database> db_;
  std::shared_ptr<net::Router> router_ = std::make_shared<net::Router>();
};

// The whole main() of a REST actor: loads the configuration (common, server and extra keys),
// prints --help, opens and migrates the database, lets `add_routes` add the actor's own
// routes, and serves until a signal.
int run_server_actor(const std::string& actor, const std::string& summary,
                     std::uint16_t default_port, std::vector<config::KeySpec> extra_keys, int argc,
                     const char* const* argv,
                     const std::function<void(ServerActor&, const config::Config&)>& add_routes);

// Runs an executable's body: --help prints the help and exits 0; an Error prints
// "<program>: error: <message>" and exits 2 for configuration errors, 1 otherwise.
int run_main(std::string_view program, const std::function<int()>& body);

}  // namespace ppi::app
