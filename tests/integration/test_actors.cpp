// The four executables as a user runs them: --help, clear one-line errors for bad
// configuration and unusable databases, and a healthy start on each database backend with
// mTLS, health over REST, migrations applied, and a clean stop on SIGTERM.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "db/database.hpp"
#include "db_servers.hpp"
#include "deployment.hpp"
#include "net/http_client.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ppi::test::ChildProcess;

namespace {

using ppi::test::binary;

const std::vector<std::string> kActors = {"super_dealer", "dealer", "model_owner", "client"};

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Runs an actor that is expected to fail at start-up; returns (status, output).
std::pair<int, std::string> run_failing(const std::string& actor, std::vector<std::string> args) {
  args.insert(args.begin(), binary(actor));
  std::string output;
  int status = ppi::test::run_program(std::move(args), {}, output, 60s);
  return {status, output};
}

}  // namespace

TEST_CASE("actors: --help of the main command lists every configuration key and exits 0") {
  for (const auto& actor : kActors) {
    CAPTURE(actor);
    std::string output;
    // A server's keys are its serve command's; the client's convert opens the database too.
    const char* command = actor == "client" ? "convert" : "serve";
    REQUIRE(ppi::test::run_program({binary(actor), command, "--help"}, {}, output) == 0);
    for (const char* key :
         {"--db.url", "PPI_DB_URL", "--tls.cert", "--tls.insecure", "--log.level"}) {
      CHECK(output.find(key) != std::string::npos);
    }
    if (actor != "client") CHECK(output.find("--listen.port") != std::string::npos);
  }
}

TEST_CASE("actors: bad configuration is one clear line and exit status 2") {
  for (const auto& actor : kActors) {
    CAPTURE(actor);
    // A command that opens the database: serve, or the client's convert.
    const std::string command = actor == "client" ? "convert" : "serve";
    auto [status, out] = run_failing(
        actor, {"--db.url=postgresql://u:p@127.0.0.1:1/x", "--db.pool_size=zero", command});
    CHECK(status == 2);
    CHECK(line_count(out) == 1);
    CHECK(out.find("db.pool_size") != std::string::npos);

    auto [status2, out2] = run_failing(actor, {command});  // db.url missing
    CHECK(status2 == 2);
    CHECK(out2.find("db.url") != std::string::npos);
  }
  auto [status, out] = run_failing("super_dealer", {"--db.url=postgresql://u:p@127.0.0.1:1/x"});
  CHECK(status == 2);  // neither certificates nor tls.insecure
  CHECK(out.find("tls.insecure") != std::string::npos);
  auto [s3, out3] = run_failing("super_dealer", {"--db.url=oracle://u:p@h/x", "--tls.insecure"});
  CHECK(s3 == 2);
  CHECK(out3.find("p@") == std::string::npos);  // the password is never printed
}

TEST_CASE("actors: an unreachable database or a wrong password is one line and exit 1") {
  auto port = std::to_string(ppi::test::free_port());
  auto [status, out] = run_failing(
      "super_dealer", {"--db.url=postgresql://u:p@127.0.0.1:" + port + "/x", "--tls.insecure"});
  CHECK(status == 1);
  CHECK(line_count(out) == 1);
  CHECK(out.find("127.0.0.1:" + port) != std::string::npos);

  auto& dbs = ppi::test::test_databases();
  for (auto dialect : {ppi::db::Dialect::postgresql, ppi::db::Dialect::mysql}) {
    CAPTURE(ppi::db::dialect_name(dialect));
    std::string url = dbs.server(dialect).create_database("wrongpw");
    std::string bad = ppi::test::DbServer::url_with_password(url, "not-the-password");
    auto [s, o] = run_failing("dealer", {"--db.url=" + bad, "--tls.insecure", "--dealer.id=d1"});
    CHECK(s == 1);
    CHECK(line_count(o) == 1);
    CHECK(o.find("not-the-password") == std::string::npos);
  }
}

TEST_CASE(
    "actors: a deployment starts on each backend, reports health over mTLS, stops on SIGTERM") {
  ppi::test::Certificates certs({"super_dealer", "dealer-1", "model_owner", "client"});
  auto& dbs = ppi::test::test_databases();
  for (auto dialect : {ppi::db::Dialect::postgresql, ppi::db::Dialect::mysql}) {
    std::string dialect_name(ppi::db::dialect_name(dialect));
    CAPTURE(dialect_name);
    std::vector<ppi::test::ActorProcess> servers;
    for (auto [actor, identity] :
         std::vector<std::pair<std::string, std::string>>{{"super_dealer", "super_dealer"},
                                                          {"dealer", "dealer-1"},
                                                          {"model_owner", "model_owner"}}) {
      ppi::test::ActorProcess s{identity, "", dbs.server(dialect).create_database(actor),
                                nullptr,  "", {}};
      auto port = std::to_string(ppi::test::free_port());
      s.url = "https://127.0.0.1:" + port;
      std::vector<std::string> argv = {binary(actor), "--listen.port=" + port};
      for (auto& f : certs.tls_flags(identity)) argv.push_back(f);
      std::vector<std::string> env = {"PPI_DB_URL=" + s.db_url, "PPI_DEALER_ID=dealer-1",
                                      "PPI_GRPC_PORT=" + std::to_string(ppi::test::free_port())};
      // The model owner needs to know where the super dealer is; it is not called here.
      if (actor == "model_owner") env.push_back("PPI_SUPER_DEALER_URL=https://127.0.0.1:1");
      s.process = std::make_unique<ChildProcess>(
          argv, env, certs.dir() / (actor + "-" + dialect_name + ".log"));
      servers.push_back(std::move(s));
    }
    auto client_tls = certs.client("client");
    for (auto& s : servers) {
      ppi::test::wait_healthy(*s.process, client_tls, s.url);
      auto health = nlohmann::json::parse(
          ppi::net::fetch(client_tls, ppi::net::http::verb::get, s.url + "/healthz").body());
      CHECK(health["status"] == "ok");
      CHECK(health["database"]["dialect"] == dialect_name);
      // Each serves its OpenAPI document and the Swagger UI page that loads it.
      auto spec = ppi::net::fetch(client_tls, ppi::net::http::verb::get, s.url + "/openapi.yaml");
      CHECK(spec.result() == ppi::net::http::status::ok);
      CHECK(spec.body().find("openapi:") != std::string::npos);
      auto docs = ppi::net::fetch(client_tls, ppi::net::http::verb::get, s.url + "/docs");
      CHECK(docs.result() == ppi::net::http::status::ok);
      CHECK(docs.body().find("/openapi.yaml") != std::string::npos);
      // Migrations ran against the actor's own database.
      auto db = ppi::db::Database::open({.url = s.db_url, .pool_size = 1});
      auto session = db->acquire();
      CHECK(session.exec("SELECT COUNT(*) FROM schema_migrations").rows.at(0).get_int(0) >= 1);
    }

    // The client reports all three through its own configuration and database.
    std::vector<std::string> argv = {binary("client"), "status"};
    for (auto& s : servers) argv.push_back(s.url);
    for (auto& f : certs.tls_flags("client")) argv.push_back(f);
    std::string output;
    int status = ppi::test::run_program(
        argv, {"PPI_DB_URL=" + dbs.server(dialect).create_database("client")}, output);
    CHECK_MESSAGE(status == 0, output);
    CHECK(output.find("actor=super_dealer") != std::string::npos);
    CHECK(output.find("actor=dealer") != std::string::npos);
    CHECK(output.find("actor=model_owner") != std::string::npos);
    CHECK(output.find("status=ok database=" + dialect_name + "/ok") != std::string::npos);

    // No client certificate: refused in the handshake.
    ppi::net::ClientOptions anonymous;
    anonymous.timeout = 5s;
    anonymous.any_server = true;
    anonymous.tls = ppi::net::TlsOptions{"", "", (certs.dir() / "ca.pem").string(), false};
    CHECK_THROWS_AS(
        ppi::net::fetch(anonymous, ppi::net::http::verb::get, servers[0].url + "/healthz"),
        ppi::Error);

    for (auto& s : servers) {
      s.process->signal(SIGTERM);
      CHECK(s.process->wait(20s) == 0);
      CHECK(s.process->output().find("event=stopped") != std::string::npos);
    }
  }
}
