#include "deployment.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/client_store.hpp"
#include "core/ids.hpp"
#include "crypto/csprng.hpp"
#include "db/chunks.hpp"
#include "db_servers.hpp"
#include "fixture_loader.hpp"
#include "material/conversion.hpp"
#include "material/layout.hpp"
#include "net/json_call.hpp"
#include "super_dealer/api.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace ppi::test {

std::string binary(const std::string& actor) {
  return std::string(PPI_BINARY_DIR) + "/" + actor + "/" + actor;
}

std::vector<std::string> pool_env(int min_size, int max_size) {
  return {"PPI_TRIPLE_POOL_MIN_SIZE=" + std::to_string(min_size),
          "PPI_TRIPLE_POOL_MAX_SIZE=" + std::to_string(max_size), "PPI_TRIPLE_POOL_INTERVAL_MS=100",
          "PPI_TRIPLE_POOL_RETRY_MS=300", "PPI_GENERATION_TIMEOUT_SECONDS=120"};
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
  // Tests reach the actors by the URLs they started them on; test_identity pins with .to().
  o.any_server = true;
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
  std::vector<std::string> ids = {"super_dealer", "model_owner", "client", "client-2", "operator"};
  for (int i = 1; i <= dealers; ++i) ids.push_back("dealer-" + std::to_string(i));
  return ids;
}

}  // namespace

Deployment::Deployment(db::Dialect dialect, int dealer_count)
    : Deployment(dialect, dealer_count, {}) {}

Deployment::Deployment(db::Dialect dialect, int dealer_count,
                       std::vector<std::string> super_dealer_env)
    : dialect_(dialect), certs_(identities(dealer_count)) {
  auto& server = test_databases().server(dialect);
  client_db_url_ = server.create_database("client");
  super_dealer = start("super_dealer", "super_dealer", std::move(super_dealer_env));
  for (int i = 1; i <= dealer_count; ++i) {
    std::string id = "dealer-" + std::to_string(i);
    // Each dealer's master key (sealing its group keys at rest), as an operator provisions it.
    fs::path key_file = certs_.dir() / (id + ".master.key");
    Bytes key(32);
    random_bytes(key);
    std::ofstream(key_file) << to_hex(key) << "\n";
    fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
    dealers.push_back(
        start("dealer", id,
              {"PPI_DEALER_ID=" + id, "PPI_SUPER_DEALER_URL=" + super_dealer.url,
               "PPI_GRPC_PORT=" + std::to_string(free_port()),
               "PPI_KEYS_MASTER_KEY_FILE=" + key_file.string(), "PPI_MESH_TIMEOUT_MS=15000"}));
  }
  online_endpoint_ = "127.0.0.1:" + std::to_string(free_port());
  model_owner =
      start("model_owner", "model_owner",
            {"PPI_SUPER_DEALER_URL=" + super_dealer.url,
             "PPI_ONLINE_PORT=" + online_endpoint_.substr(online_endpoint_.find(':') + 1)});
}

Deployment::~Deployment() = default;

ActorProcess Deployment::start(const std::string& exe, const std::string& identity,
                               std::vector<std::string> env) {
  ActorProcess a;
  a.identity = identity;
  a.exe = exe;
  a.db_url = test_databases().server(dialect_).create_database(exe == "dealer" ? "dealer" : exe);
  auto port = std::to_string(free_port());
  a.url = "https://127.0.0.1:" + port;
  env.push_back("PPI_DB_URL=" + a.db_url);
  env.push_back("PPI_LISTEN_PORT=" + port);
  a.env = std::move(env);
  launch(a);
  return a;
}

void Deployment::launch(ActorProcess& a) {
  std::vector<std::string> argv = {binary(a.exe)};
  for (auto& f : certs_.tls_flags(a.identity)) argv.push_back(f);
  a.process = std::make_unique<ChildProcess>(argv, a.env, certs_.dir() / (a.identity + ".log"));
  wait_healthy(*a.process, certs_.client("client").to(a.identity), a.url);
}

void Deployment::kill(ActorProcess& a) {
  a.process->signal(SIGKILL);
  a.process->wait(std::chrono::seconds(10));
}

void Deployment::restart(ActorProcess& a) {
  a.process.reset();
  launch(a);
}

void Deployment::form_group(const std::vector<std::string>& members) {
  auto options = certs_.client("operator").to("super_dealer");
  const auto answer = net::call_json(options, net::http::verb::post,
                                     super_dealer.url + std::string(super_dealer::api::kGroupsPath),
                                     nlohmann::json(super_dealer::api::GroupRequest{members}))
                          .get<super_dealer::api::Group>();
  REQUIRE(answer.state == "ready");
}

void Deployment::add_pool(const std::string& model_id, const std::vector<std::string>& members) {
  net::call_json(certs_.client("operator").to("super_dealer"), net::http::verb::post,
                 super_dealer.url + std::string(super_dealer::api::kPoolsPath),
                 nlohmann::json(super_dealer::api::PoolRequest{model_id, members}))
      .get<super_dealer::api::PoolRef>();
}

std::vector<std::string> Deployment::wait_available(const std::string& model_id,
                                                    const std::vector<std::string>& members,
                                                    int count, std::chrono::seconds timeout) {
  const std::string group = group_key(check_dealer_group(members));
  auto registry = open(super_dealer.db_url);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<std::string> ids;
    {
      auto s = registry->acquire();
      for (const auto& row : s.exec("SELECT batch_id FROM batches WHERE model_id = ? AND "
                                    "dealer_group = ? AND kind = 'batch' AND state = 'available' "
                                    "ORDER BY batch_id",
                                    {model_id, group})
                                 .rows) {
        ids.push_back(row.get_string(0));
      }
    }
    if (static_cast<int>(ids.size()) >= count) return ids;
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("only " << ids.size() << " of " << count << " batches became available; "
                   << super_dealer.process->output().substr(
                          super_dealer.process->output().size() > 4000
                              ? super_dealer.process->output().size() - 4000
                              : 0));
    }
    std::this_thread::sleep_for(100ms);
  }
}

std::string Deployment::wait_mask_set(const std::string& model_id,
                                      const std::vector<std::string>& members,
                                      std::chrono::seconds timeout) {
  const std::string group = group_key(check_dealer_group(members));
  auto registry = open(super_dealer.db_url);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      auto s = registry->acquire();
      auto r = s.exec(
          "SELECT batch_id FROM batches WHERE model_id = ? AND dealer_group = ? AND "
          "kind = 'mask_set' AND state IN ('available', 'bound') ORDER BY created_at",
          {model_id, group});
      if (!r.rows.empty()) return r.rows[0].get_string(0);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("the mask set of " << model_id << " was not generated");
    }
    std::this_thread::sleep_for(100ms);
  }
}

material::OpenedBatch Deployment::open_converted(const std::string& batch_id,
                                                 const material::MaterialPlan& plan) {
  auto mo = open(model_owner.db_url)->acquire();
  auto row = mo.exec("SELECT mac_key_share, state FROM inferences WHERE batch_id = ?", {batch_id});
  REQUIRE(row.rows.size() == 1);
  REQUIRE(row.rows[0].get_string(1) == "ready");
  const u128 mo_key = load_u128_le(row.rows[0].get_bytes(0).data());
  Bytes mo_pairs;
  db::read_chunks(mo, {"share_chunks", "batch_id"}, batch_id, [&](ByteView chunk) {
    mo_pairs.insert(mo_pairs.end(), chunk.begin(), chunk.end());
  });
  REQUIRE(mo_pairs.size() == 32 * plan.element_count());
  client::ClientStore client_store(open(client_db_url_));
  auto conversion = client_store.load(batch_id);
  REQUIRE(conversion.element_count == plan.element_count());
  std::vector<Seed128> seeds;
  std::vector<u128> masks;
  for (const auto& s : conversion.seeds) {
    seeds.push_back(s.shares_seed);
    masks.push_back(s.mac_key_mask);
  }
  material::ClientShareExpander expander(seeds, masks);
  const material::BatchLayout layout(plan);
  Bytes client_pairs(mo_pairs.size());
  expander.expand(layout, 0, client_pairs);
  // Neither share alone is the material: the client's pairs are the PRG sums.
  CHECK(Bytes(mo_pairs.begin(), mo_pairs.begin() + 32) !=
        Bytes(client_pairs.begin(), client_pairs.begin() + 32));
  return material::open_batch(layout, mo_key, mo_pairs, expander.mac_key_share(), client_pairs);
}

Bytes Deployment::dealer_share(const std::string& dealer_id, const std::string& batch_id) {
  auto s = open(dealer(dealer_id).db_url)->acquire();
  Bytes share;
  db::read_chunks(s, {"batch_chunks", "batch_id"}, batch_id,
                  [&](ByteView chunk) { share.insert(share.end(), chunk.begin(), chunk.end()); });
  return share;
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
  return run_model_owner({"register", model_id, plan_file.string()}, output);
}

int Deployment::run_model_owner(std::vector<std::string> args, std::string& output) {
  args.insert(args.begin(), binary("model_owner"));
  for (auto& f : certs_.tls_flags("model_owner")) args.push_back(f);
  return run_program(
      args, {"PPI_DB_URL=" + model_owner.db_url, "PPI_SUPER_DEALER_URL=" + super_dealer.url},
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
                     {"PPI_DB_URL=" + client_db_url_, "PPI_MODEL_OWNER_URL=" + model_owner.url,
                      "PPI_MODEL_OWNER_ONLINE=" + online_endpoint_},
                     output, 600s);
}

}  // namespace ppi::test
