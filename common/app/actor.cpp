#include "app/actor.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/docs.hpp"
#include "app/metrics_routes.hpp"
#include "ledger/ledger.hpp"
#include "obs/log.hpp"

namespace ppi::app {
namespace asio = boost::asio;
using config::KeySpec;

std::vector<KeySpec> common_keys() {
  return {
      config::required_key("db.url",
                           "database URL: postgresql://user:pass@host:port/db or "
                           "mysql://user:pass@host:port/db"),
      config::integer_key("db.pool_size", 4, 1, 64, "database connections in the pool"),
      config::integer_key("db.acquire_timeout_ms", 5000, 1, 600000,
                          "how long a request waits for a free database connection"),
      config::choice_key("log.level", "info", {"debug", "info", "warn", "error"},
                         "lowest level logged"),
      config::string_key("tls.cert", "", "PEM certificate of this actor (from the deployment CA)"),
      config::string_key("tls.key", "", "PEM private key of this actor"),
      config::string_key("tls.ca", "", "PEM certificate of the deployment CA"),
      config::boolean_key("tls.insecure", false,
                          "plain TCP without TLS or client certificates: for debugging only"),
  };
}

std::vector<KeySpec> server_keys(std::uint16_t default_port) {
  return {
      config::string_key("listen.address", "127.0.0.1", "IP address the REST server binds"),
      config::integer_key("listen.port", default_port, 0, 65535,
                          "TCP port of the REST server (0: any free port)"),
      config::integer_key("threads.io", 2, 1, 64, "I/O threads of the REST server"),
      config::integer_key("threads.workers", 4, 1, 256, "worker threads for request handlers"),
      config::integer_key("http.body_limit", 1 << 20, 1024, 1 << 30,
                          "largest request body accepted, in bytes"),
      config::integer_key("http.timeout_seconds", 30, 1, 3600,
                          "time to wait for and read one request, and to write its answer"),
      config::integer_key("http.handshake_timeout_seconds", 10, 1, 600,
                          "time a new connection has to finish its TLS handshake"),
      config::integer_key("http.max_connections", 1024, 8, 1 << 20,
                          "open REST connections at most (lowered to fit the open-file limit)"),
      config::integer_key("http.max_handshakes", 128, 1, 1 << 20,
                          "connections still in their TLS handshake at most; beyond it the "
                          "longest-stalled one is closed"),
      config::integer_key("http.max_connections_per_peer", 64, 1, 1 << 20,
                          "open REST connections per client identity at most"),
      config::string_key("docs.swagger_ui_dir",
                         PPI_SOURCE_DIR "/third_party/node_modules/swagger-ui-dist",
                         "directory of the swagger-ui-dist package served at /docs"),
  };
}

std::optional<net::TlsOptions> tls_options(const config::Config& cfg) {
  if (cfg.get_bool("tls.insecure")) return std::nullopt;
  net::TlsOptions o{cfg.get_string("tls.cert"), cfg.get_string("tls.key"), cfg.get_string("tls.ca"),
                    true};
  if (o.cert_file.empty() || o.key_file.empty() || o.ca_file.empty()) {
    throw Error(Errc::config,
                "config tls.cert, tls.key and tls.ca are required (or set tls.insecure=true "
                "for a plain-TCP debugging deployment)");
  }
  return o;
}

std::shared_ptr<db::Database> open_database(const config::Config& cfg, std::string_view actor) {
  db::DbConfig dbc;
  dbc.url = cfg.get_string("db.url");
  dbc.pool_size = static_cast<std::size_t>(cfg.get_int("db.pool_size"));
  dbc.acquire_timeout = std::chrono::milliseconds(cfg.get_int("db.acquire_timeout_ms"));
  auto database = db::Database::open(dbc);
  int applied = db::migrate(*database, actor);
  // Every audit event this process appends names it by its certificate (docs/audit.md).
  const auto tls = tls_options(cfg);
  ledger::set_actor_identity(tls ? net::certificate_common_name(tls->cert_file)
                                 : std::string(actor));
  log::info("database_ready", {{"dialect", std::string(db::dialect_name(database->dialect()))},
                               {"migrations_applied", std::to_string(applied)}});
  return database;
}

namespace {

net::Response health(const std::string& actor, db::Database& db) {
  nlohmann::json doc = {{"actor", actor}, {"version", PPI_VERSION}};
  std::string db_status = "ok";
  try {
    db.ping();
  } catch (const Error& e) {
    db_status = "unreachable";
    log::warn("health_database_unreachable", {{"detail", e.what()}});
  }
  doc["database"] = {{"dialect", db::dialect_name(db.dialect())}, {"status", db_status}};
  doc["status"] = db_status == "ok" ? "ok" : "degraded";
  return net::json_response(
      db_status == "ok" ? net::http::status::ok : net::http::status::service_unavailable,
      doc.dump());
}

}  // namespace

void add_service_routes(net::Router& router, const std::string& actor, const config::Config& cfg,
                        std::shared_ptr<db::Database> db) {
  router.add(net::http::verb::get, "/healthz",
             [actor, db](const net::Request&, net::RequestContext&) { return health(actor, *db); });
  add_docs_routes(router, actor, cfg.get_string("docs.swagger_ui_dir"));
  add_metrics_routes(router, actor, cfg, std::move(db));
}

ServerActor::ServerActor(std::string actor, const config::Config& cfg,
                         std::shared_ptr<db::Database> db)
    : actor_(std::move(actor)), cfg_(cfg), db_(std::move(db)) {
  add_service_routes(*router_, actor_, cfg_, db_);
}

namespace {

// The soft open-file limit raised to the hard one (1024 by default, which a flood reaches).
std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 20 : limit.rlim_cur;
}

}  // namespace

void ServerActor::run() {
  net::ServerOptions options;
  options.address = cfg_.get_string("listen.address");
  options.port = static_cast<std::uint16_t>(cfg_.get_int("listen.port"));
  options.tls = tls_options(cfg_);
  options.body_limit = static_cast<std::size_t>(cfg_.get_int("http.body_limit"));
  options.timeout = std::chrono::seconds(cfg_.get_int("http.timeout_seconds"));
  options.handshake_timeout = std::chrono::seconds(cfg_.get_int("http.handshake_timeout_seconds"));
  // Half the descriptors at most for REST connections: the rest is for the database pool,
  // gRPC, the dealers' mesh and files. A flood then meets the connection bound, not EMFILE.
  const auto files = raise_open_file_limit();
  const auto max_connections = static_cast<std::uint64_t>(cfg_.get_int("http.max_connections"));
  options.limits.max_connections =
      static_cast<std::size_t>(std::max<std::uint64_t>(8, std::min(max_connections, files / 2)));
  options.limits.max_handshakes = static_cast<std::size_t>(cfg_.get_int("http.max_handshakes"));
  options.limits.max_per_peer =
      static_cast<std::size_t>(cfg_.get_int("http.max_connections_per_peer"));
  if (options.limits.max_connections < max_connections) {
    log::warn("connection_bound_lowered",
              {{"max_connections", std::to_string(options.limits.max_connections)},
               {"open_file_limit", std::to_string(files)}});
  }

  asio::io_context io;
  asio::thread_pool workers(static_cast<std::size_t>(cfg_.get_int("threads.workers")));
  net::HttpServer server(io, workers, options, router_);
  server.start();
  log::info("listening", {{"address", options.address},
                          {"port", std::to_string(server.port())},
                          {"tls", options.tls ? "mtls" : "off"}});
  if (listening_) listening_(server.port());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    log::info("stopping", {{"signal", std::to_string(signal_number)}});
    if (stopping_) stopping_();
    server.stop();
    io.stop();
  });

  std::vector<std::thread> threads;
  auto io_threads = cfg_.get_int("threads.io");
  for (std::int64_t i = 1; i < io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  workers.join();
  log::info("stopped");
}

const std::string& require_identity(const net::RequestContext& ctx) {
  if (ctx.peer_identity.empty()) {
    throw Error(Errc::unauthenticated, "this call needs an mTLS client certificate");
  }
  return ctx.peer_identity;
}

int run_server_actor(const std::string& actor, const std::string& summary,
                     std::uint16_t default_port, std::vector<config::KeySpec> extra_keys, int argc,
                     const char* const* argv,
                     const std::function<void(ServerActor&, const config::Config&)>& add_routes,
                     std::vector<Command> commands) {
  Program program{actor, summary, common_keys(), {}, "serve"};
  for (auto& k : server_keys(default_port)) program.keys.push_back(std::move(k));
  for (auto& k : extra_keys) program.keys.push_back(std::move(k));
  // Serving reads every key but those only the other commands have.
  Command serve{.name = "serve",
                .summary = "serve the REST API (and gRPC) until SIGTERM or SIGINT",
                .database = true,
                .tls = true,
                .serves = true,
                .max_args = 0};
  for (const auto& k : program.keys) serve.keys.push_back(k.name);
  serve.run = [&](CommandContext& ctx) {
    ServerActor server(actor, ctx.cfg, ctx.db);
    if (add_routes) add_routes(server, ctx.cfg);
    server.run();
    return 0;
  };
  program.commands.push_back(std::move(serve));
  for (auto& c : commands) program.commands.push_back(std::move(c));
  return run_cli(program, argc, argv);
}

int run_main(std::string_view program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return e.code() == Errc::config ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ppi::app
