#include "deployment.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "db_servers.hpp"
#include "fixture_loader.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace ppi::test {

std::string binary(const std::string& actor) {
  return std::string(PPI_BINARY_DIR) + "/" + actor + "/" + actor;
}

Certificates::Certificates(const std::vector<std::string>& identities) {
  static int counter = 0;
  dir_ = fs::temp_directory_path() /
         ("ppi-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  std::string cmd = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh " + dir_.string();
  for (const auto& id : identities) cmd += " " + id;
  REQUIRE(std::system((cmd + " > /dev/null").c_str()) == 0);
}

Certificates::~Certificates() {
  fs::remove_all(dir_);
}

std::vector<std::string> Certificates::tls_flags(const std::string& identity) const {
  return {"--tls.cert=" + (dir_ / (identity + ".pem")).string(),
          "--tls.key=" + (dir_ / (identity + ".key")).string(),
          "--tls.ca=" + (dir_ / "ca.pem").string()};
}

net::ClientOptions Certificates::client(const std::string& identity) const {
  net::ClientOptions o;
  o.timeout = 120s;
  o.tls = net::TlsOptions{(dir_ / (identity + ".pem")).string(),
                          (dir_ / (identity + ".key")).string(), (dir_ / "ca.pem").string(), true};
  return o;
}

void wait_healthy(ChildProcess& process, const net::ClientOptions& options,
                  const std::string& url) {
  for (int i = 0; i < 600; ++i) {
    REQUIRE_MESSAGE(process.running(), process.output());
    try {
      auto res = net::fetch(options, net::http::verb::get, url + "/healthz");
      if (res.result() == net::http::status::ok) return;
    } catch (const Error&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL("server did not become healthy: " << process.output());
}

namespace {

std::vector<std::string> identities(int dealers) {
  std::vector<std::string> ids = {"super_dealer", "model_owner", "client", "client-2"};
  for (int i = 1; i <= dealers; ++i) ids.push_back("dealer-" + std::to_string(i));
  return ids;
}

}  // namespace

Deployment::Deployment(db::Dialect dialect, int dealer_count)
    : dialect_(dialect), certs_(identities(dealer_count)) {
  auto& server = test_databases().server(dialect);
  client_db_url_ = server.create_database("client");
  super_dealer = start("super_dealer", "super_dealer", {});
  for (int i = 1; i <= dealer_count; ++i) {
    std::string id = "dealer-" + std::to_string(i);
    dealers.push_back(start("dealer", id,
                            {"PPI_DEALER_ID=" + id, "PPI_SUPER_DEALER_URL=" + super_dealer.url,
                             "PPI_GRPC_PORT=" + std::to_string(free_port())}));
  }
  model_owner = start("model_owner", "model_owner", {"PPI_SUPER_DEALER_URL=" + super_dealer.url});
}

Deployment::~Deployment() = default;

ActorProcess Deployment::start(const std::string& exe, const std::string& identity,
                               std::vector<std::string> env) {
  ActorProcess a;
  a.identity = identity;
  a.db_url = test_databases().server(dialect_).create_database(exe == "dealer" ? "dealer" : exe);
  auto port = std::to_string(free_port());
  a.url = "https://127.0.0.1:" + port;
  std::vector<std::string> argv = {binary(exe), "--listen.port=" + port};
  for (auto& f : certs_.tls_flags(identity)) argv.push_back(f);
  env.push_back("PPI_DB_URL=" + a.db_url);
  a.process = std::make_unique<ChildProcess>(argv, env, certs_.dir() / (identity + ".log"));
  wait_healthy(*a.process, certs_.client("client"), a.url);
  return a;
}

std::vector<std::string> Deployment::dealer_ids() const {
  std::vector<std::string> ids;
  for (const auto& d : dealers) ids.push_back(d.identity);
  return ids;
}

ActorProcess& Deployment::dealer(const std::string& id) {
  for (auto& d : dealers) {
    if (d.identity == id) return d;
  }
  throw Error(Errc::not_found, id);
}

std::shared_ptr<db::Database> Deployment::open(const std::string& db_url) const {
  return db::Database::open({.url = db_url, .pool_size = 2});
}

int Deployment::register_model(const std::string& model_id, const material::MaterialPlan& plan,
                               std::string& output) {
  fs::path plan_file = certs_.dir() / (model_id + ".plan.json");
  std::ofstream(plan_file) << plan.to_json().dump();
  std::vector<std::string> argv = {binary("model_owner"), "register", model_id, plan_file.string()};
  for (auto& f : certs_.tls_flags("model_owner")) argv.push_back(f);
  return run_program(
      argv, {"PPI_DB_URL=" + model_owner.db_url, "PPI_SUPER_DEALER_URL=" + super_dealer.url},
      output);
}

std::vector<std::string> Deployment::load_batches(const std::string& model_id,
                                                  const material::MaterialPlan& plan,
                                                  const std::vector<std::string>& group,
                                                  int count) {
  std::map<std::string, std::shared_ptr<db::Database>> dealer_dbs;
  for (const auto& id : group) dealer_dbs[id] = open(dealer(id).db_url);
  auto registry = open(super_dealer.db_url);
  std::vector<std::string> ids;
  for (const auto& b : load_fixture_batches(*registry, dealer_dbs, model_id, plan, count)) {
    alphas_[b.batch_id] = b.alpha;
    ids.push_back(b.batch_id);
  }
  return ids;
}

int Deployment::run_client(std::vector<std::string> args, std::string& output,
                           const std::string& identity) {
  args.insert(args.begin(), binary("client"));
  for (auto& f : certs_.tls_flags(identity)) args.push_back(f);
  return run_program(args,
                     {"PPI_DB_URL=" + client_db_url_, "PPI_MODEL_OWNER_URL=" + model_owner.url},
                     output, 600s);
}

}  // namespace ppi::test
