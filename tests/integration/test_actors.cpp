// The four executables as a user runs them: --help, clear one-line errors for bad
// configuration and unusable databases, and a healthy start on each database backend with
// mTLS, health over REST, migrations applied, and a clean stop on SIGTERM. Live answers, good
// and bad, are validated against openapi/<actor>.yaml (issue 14 item 6).
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
#include "openapi_doc.hpp"
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

// `res`, the answer to `method path` (the documented pattern), is one the document lists, and
// its body fits the documented schema: required fields, types, RFC 3339 times.
void check_documented(const std::string& actor, const std::string& method, const std::string& path,
                      const ppi::net::Response& res) {
  const auto doc = ppi::testing::OpenApiDocument::load(actor);
  const std::string status = std::to_string(res.result_int());
  CAPTURE(actor);
  CAPTURE(method);
  CAPTURE(path);
  CAPTURE(status);
  CAPTURE(res.body());
  std::string lower = method;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  REQUIRE(doc.root().at("paths").at(path).at(lower).at("responses").contains(status));
  const auto problems =
      doc.mismatches(nlohmann::json::parse(res.body()), doc.response_schema(method, path, status));
  std::string lines;
  for (const auto& p : problems) lines += p + "\n";
  INFO(lines);
  CHECK(problems.empty());
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
  ppi::test::Certificates certs({"super_dealer", "dealer-1", "model_owner", "client", "operator"});
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

    // Live answers against the documents: health, readiness, and good and bad requests.
    using ppi::net::http::verb;
    const auto as = [&](const std::string& identity) { return certs.client(identity); };
    const std::vector<std::string> actor_of = {"super_dealer", "dealer", "model_owner"};
    for (std::size_t i = 0; i < servers.size(); ++i) {
      const auto& url = servers[i].url;
      check_documented(actor_of[i], "GET", "/healthz",
                       ppi::net::fetch(client_tls, verb::get, url + "/healthz"));
      check_documented(actor_of[i], "GET", "/readyz",
                       ppi::net::fetch(client_tls, verb::get, url + "/readyz"));
      check_documented(actor_of[i], "GET", "/v1/audit/events",
                       ppi::net::fetch(as("operator"), verb::get, url + "/v1/audit/events"));
      // 405 with the methods the path serves (documented once, in the info description).
      const auto wrong = ppi::net::fetch(client_tls, verb::delete_, url + "/healthz");
      CHECK(wrong.result_int() == 405);
      CHECK(wrong[ppi::net::http::field::allow] == "GET, HEAD, OPTIONS");
    }
    const std::string sd = servers[0].url;
    const auto registered =
        ppi::net::fetch(as("model_owner"), verb::post, sd + "/v1/models",
                        R"({"model_id": "m1", "plan": [{"type": "TRIPLE", "count": 2}]})");
    check_documented("super_dealer", "POST", "/v1/models", registered);
    check_documented("super_dealer", "GET", "/v1/models/{model_id}",
                     ppi::net::fetch(as("operator"), verb::get, sd + "/v1/models/m1"));
    check_documented("super_dealer", "GET", "/v1/models/{model_id}",
                     ppi::net::fetch(as("operator"), verb::get, sd + "/v1/models/unknown"));
    // A bound batch, written as the pool keeper and binding would, served with RFC 3339 times
    // (created_at / bound_at were the database's text, without a zone on MariaDB).
    const std::string batch_id = "6f1c2b3a-9d4e-4f50-8a61-7b2c3d4e5f60";
    {
      auto db = ppi::db::Database::open({.url = servers[0].db_url, .pool_size = 1});
      auto session = db->acquire();
      session.exec(
          "INSERT INTO batches (batch_id, model_id, dealer_group, state, model_owner_identity, "
          "client_identity, bound_at) VALUES (?, 'm1', 'dealer-1,dealer-2,dealer-3', 'bound', "
          "'model_owner', 'client', CURRENT_TIMESTAMP)",
          {batch_id});
    }
    const auto batch = ppi::net::fetch(as("operator"), verb::get, sd + "/v1/batches/" + batch_id);
    check_documented("super_dealer", "GET", "/v1/batches/{batch_id}", batch);
    const auto record = nlohmann::json::parse(batch.body());
    CHECK(ppi::testing::is_rfc3339(record.value("created_at", "")));
    CHECK(ppi::testing::is_rfc3339(record.value("bound_at", "")));
    check_documented("super_dealer", "GET", "/v1/batches/{batch_id}",
                     ppi::net::fetch(as("operator"), verb::get, sd + "/v1/batches/not-a-uuid"));
    check_documented("super_dealer", "GET", "/v1/batches/{batch_id}",
                     ppi::net::fetch(as("operator"), verb::get,
                                     sd + "/v1/batches/00000000-0000-4000-8000-000000000000"));
    check_documented("super_dealer", "GET", "/v1/dealers",
                     ppi::net::fetch(as("client"), verb::get, sd + "/v1/dealers"));
    const std::string bind_body =
        R"({"model_id": "m1", "dealers": ["dealer-1", "dealer-2", "dealer-9"], )";
    const auto unknown_dealer = ppi::net::fetch(as("model_owner"), verb::post, sd + "/v1/batch_id",
                                                bind_body + R"("client_identity": "client"})");
    CHECK(unknown_dealer.result_int() == 404);
    CHECK(unknown_dealer.body().find("unknown dealer") != std::string::npos);
    check_documented("super_dealer", "POST", "/v1/batch_id", unknown_dealer);
    const auto same_party = ppi::net::fetch(as("model_owner"), verb::post, sd + "/v1/batch_id",
                                            bind_body + R"("client_identity": "model_owner"})");
    CHECK(same_party.result_int() == 400);
    CHECK(same_party.body().find("must differ") != std::string::npos);
    check_documented("super_dealer", "POST", "/v1/batch_id", same_party);
    check_documented("super_dealer", "POST", "/v1/batch_id",
                     ppi::net::fetch(as("model_owner"), verb::post, sd + "/v1/batch_id",
                                     R"({"model_id": "m1"})"));
    const auto plain = ppi::net::fetch(as("model_owner"), verb::post, sd + "/v1/batch_id",
                                       "model_id=m1", "text/plain");
    CHECK(plain.result_int() == 415);
    check_documented("super_dealer", "POST", "/v1/batch_id", plain);
    // The dealer's binding and release refuse what does not fit, as documented.
    const std::string dealer = servers[1].url;
    check_documented("dealer", "POST", "/v1/seed",
                     ppi::net::fetch(as("client"), verb::post, dealer + "/v1/seed",
                                     R"({"batch_id": ")" + batch_id + R"("})"));
    check_documented("dealer", "POST", "/v1/seed",
                     ppi::net::fetch(as("client"), verb::post, dealer + "/v1/seed", "{}"));
    check_documented("dealer", "POST", "/v1/bind",
                     ppi::net::fetch(as("client"), verb::post, dealer + "/v1/bind", "{}"));
    check_documented("model_owner", "GET", "/v1/models",
                     ppi::net::fetch(as("client"), verb::get, servers[2].url + "/v1/models"));

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
