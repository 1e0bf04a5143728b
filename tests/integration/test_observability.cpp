// Observability (issue 11 item 4, issue 14 item 10) against the real executables: /metrics of
// every server actor moves when a conversion is done and passes `promtool check metrics`;
// only operator and monitor certificates may read it; /readyz is 200, and 503 naming the
// database when the actor's database server is stopped (or naming the super dealer for a model
// owner that cannot reach it); one access-log line per request with the caller's X-Request-Id
// echoed; the three dealers log their own identities; the pool keeper backs off while its
// database is down; and a real Prometheus server scrapes an actor with a monitor certificate.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "db_servers.hpp"
#include "deployment.hpp"
#include "process.hpp"

using namespace ppi;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using net::http::status;
using net::http::verb;

// A program on PATH, or "" (the tests that need it then say so and skip that part).
std::string on_path(const std::string& name) {
  std::string out;
  if (test::run_program({"/bin/sh", "-c", "command -v " + name}, {}, out) != 0) return "";
  out.erase(out.find_last_not_of(" \n") + 1);
  return out;
}

// Adds certificates to the deployment's CA (make-certs.sh reuses the CA of its directory).
void add_certificates(const test::Certificates& certs, const std::vector<std::string>& names) {
  std::string cmd = std::string(PPI_SOURCE_DIR) + "/scripts/make-certs.sh " + certs.dir().string();
  for (const auto& n : names) cmd += " " + n;
  REQUIRE(std::system((cmd + " > /dev/null").c_str()) == 0);
}

std::string scrape(const test::Certificates& certs, const std::string& url,
                   const std::string& identity = "monitor") {
  const auto res = net::fetch(certs.client(identity), verb::get, url + "/metrics");
  REQUIRE_MESSAGE(res.result() == status::ok, res.body());
  CHECK(std::string(res[net::http::field::content_type]).starts_with("text/plain; version=0.0.4"));
  return res.body();
}

// The value of one series (`name{labels}` exactly as rendered), 0 when absent.
double value_of(const std::string& page, const std::string& series) {
  const auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(page.substr(at + series.size() + 2));
}

// promtool's parser and linter on a scraped page; skipped (with a message) where it is absent.
void check_with_promtool(const std::string& page, const fs::path& dir, const std::string& name) {
  const std::string promtool = on_path("promtool");
  if (promtool.empty()) {
    MESSAGE(
        "promtool is absent (Debian package prometheus, scripts/setup.sh): the text format "
        "of /metrics is not checked by it");
    return;
  }
  const fs::path file = dir / (name + ".metrics");
  std::ofstream(file) << page;
  std::string out;
  const int rc = test::run_program(
      {"/bin/sh", "-c", promtool + " check metrics < '" + file.string() + "'"}, {}, out);
  CHECK_MESSAGE(rc == 0, name << ": promtool check metrics: " << out);
}

net::Response readyz(const test::Certificates& certs, const std::string& url) {
  return net::fetch(certs.client("client"), verb::get, url + "/readyz");
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void run_metrics_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  add_certificates(d.certs(), {"monitor"});
  const auto plan = material::MaterialPlan::from_json(nlohmann::json::parse(
      R"([{"type": "TRIPLE", "count": 200}, {"type": "DABIT", "count": 64}])"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("obs", plan, out) == 0, out);
  const auto ids = d.dealer_ids();
  const auto batches = d.load_batches("obs", plan, ids, 1);

  std::vector<test::ActorProcess*> servers = {&d.super_dealer, &d.model_owner};
  for (auto& dealer : d.dealers) servers.push_back(&dealer);
  std::map<std::string, std::string> before;
  for (auto* s : servers) before[s->identity] = scrape(d.certs(), s->url);

  REQUIRE_MESSAGE(
      d.run_client({"convert", "--model=obs", "--dealers=dealer-1,dealer-2,dealer-3"}, out) == 0,
      out);
  REQUIRE(out.find("batch_id=" + batches[0]) != std::string::npos);

  std::map<std::string, std::string> after;
  for (auto* s : servers) {
    after[s->identity] = scrape(d.certs(), s->url);
    check_with_promtool(after[s->identity], d.certs().dir(), s->identity);
    CAPTURE(s->identity);
    const std::string actor = s->exe;
    CHECK(after[s->identity].find("ppi_build_info{actor=\"" + actor + "\",identity=\"" +
                                  s->identity + "\",version=\"") != std::string::npos);
  }
  const auto moved = [&](const std::string& who, const std::string& series) {
    return value_of(after.at(who), series) - value_of(before.at(who), series);
  };
  // The super dealer bound the batch: one POST /v1/batch_id answered 200, by route pattern.
  CHECK(moved("super_dealer",
              R"(ppi_http_requests_total{route="/v1/batch_id",method="POST",status="200"})") == 1);
  CHECK(moved("super_dealer", R"(ppi_http_request_duration_seconds_count{route="/v1/batch_id"})") ==
        1);
  // Each dealer streamed one whole share to the model owner and released its seed once.
  const double share_bytes = 32.0 * static_cast<double>(plan.element_count());
  for (const auto& id : ids) {
    CAPTURE(id);
    CHECK(moved(id, R"(ppi_dealer_releases_total{kind="shares"})") == 1);
    CHECK(moved(id, R"(ppi_dealer_releases_total{kind="seed"})") == 1);
    CHECK(moved(id, R"(ppi_dealer_release_bytes_total{kind="shares"})") == share_bytes);
    CHECK(moved(id, R"(ppi_dealer_release_bytes_total{kind="seed"})") > 0);
    // The route pattern, never the raw path with its batch id.
    CHECK(after.at(id).find(batches[0]) == std::string::npos);
  }
  CHECK(moved("model_owner", R"(ppi_conversions_total{outcome="succeeded"})") == 1);
  CHECK(moved("model_owner", R"(ppi_conversions_total{outcome="failed"})") == 0);
  CHECK(moved("model_owner", "ppi_conversion_bytes_total") >= 3 * share_bytes);
  CHECK(moved("model_owner", "ppi_conversion_seconds_count") == 1);
  CHECK(after.at("model_owner").find("ppi_online_sessions_active 0\n") != std::string::npos);

  // Errors by kind: a request for a batch of an unknown model is not_found at the edge.
  const double not_found =
      value_of(after.at("model_owner"), R"(ppi_errors_total{kind="not_found"})");
  CHECK(d.run_client({"convert", "--model=nope", "--dealers=dealer-1,dealer-2,dealer-3"}, out) !=
        0);
  CHECK(value_of(scrape(d.certs(), d.model_owner.url), R"(ppi_errors_total{kind="not_found"})") ==
        not_found + 1);
  // An unknown path is counted as route "unmatched".
  CHECK(net::fetch(d.certs().client("client"), verb::get, d.dealers[0].url + "/v1/nothing/here")
            .result() == status::not_found);
  CHECK(value_of(scrape(d.certs(), d.dealers[0].url),
                 R"(ppi_http_requests_total{route="unmatched",method="GET",status="404"})") >= 1);

  // Who may read /metrics: operators and monitors; a client or a dealer may not, and a monitor
  // may read nothing else.
  CHECK(scrape(d.certs(), d.super_dealer.url, "operator")
            .find("ppi_pool_keeper_pass_failures_total") != std::string::npos);
  for (const std::string who : {"client", "dealer-1"}) {
    const auto refused =
        net::fetch(d.certs().client(who), verb::get, d.super_dealer.url + "/metrics");
    CHECK(refused.result() == status::forbidden);
    CHECK(refused.body().find("needs the role operator or monitor") != std::string::npos);
  }
  CHECK(net::fetch(d.certs().client("monitor"), verb::get, d.super_dealer.url + "/v1/pools")
            .result() == status::forbidden);

  // /readyz: ready everywhere, for any authenticated caller.
  for (auto* s : servers) {
    CAPTURE(s->identity);
    const auto res = readyz(d.certs(), s->url);
    CHECK_MESSAGE(res.result() == status::ok, res.body());
    const auto doc = nlohmann::json::parse(res.body());
    CHECK(doc["status"] == "ready");
    CHECK(doc["checks"]["database"] == "ok");
    if (s == &d.model_owner) CHECK(doc["checks"]["super_dealer"] == "ok");
  }

  // The access log: one line per request, with the route pattern, the caller and the request
  // id, and the batch id where the path names one. A caller's sane X-Request-Id is echoed and
  // logged; one that is not is replaced.
  const std::string sd_log = d.super_dealer.process->output();
  CHECK(sd_log.find("event=http_request method=POST route=/v1/batch_id status=200 latency_ms=") !=
        std::string::npos);
  CHECK(std::regex_search(sd_log, std::regex("event=http_request method=POST route=/v1/batch_id "
                                             "status=200 latency_ms=[0-9.]+ caller=model_owner "
                                             "request_id=[0-9a-f]{16}")));
  const auto tls = d.certs().tls_flags("client");
  const std::string curl = on_path("curl");
  if (curl.empty()) {
    MESSAGE("curl is absent: X-Request-Id is not checked");
  } else {
    for (const auto& [given, echoed] : std::vector<std::pair<std::string, std::string>>{
             {"obs-test-1234", "obs-test-1234"}, {"bad id with spaces", ""}}) {
      REQUIRE(test::run_program({curl, "-sS", "-o", "/dev/null", "-D", "-", "--cacert",
                                 (d.certs().dir() / "ca.pem").string(), "--cert",
                                 (d.certs().dir() / "client.pem").string(), "--key",
                                 (d.certs().dir() / "client.key").string(), "-H",
                                 "X-Request-Id: " + given, d.dealers[1].url + "/readyz"},
                                {}, out) == 0);
      std::smatch m;
      REQUIRE_MESSAGE(
          std::regex_search(out, m, std::regex("x-request-id: ([^\r\n]+)", std::regex::icase)),
          out);
      if (!echoed.empty()) {
        CHECK(m[1] == echoed);
      } else {
        CHECK(std::regex_match(m[1].str(), std::regex("[0-9a-f]{16}")));
      }
    }
    std::this_thread::sleep_for(200ms);  // the line is written after the answer
    CHECK(d.dealers[1].process->output().find("route=/readyz status=200") != std::string::npos);
    CHECK(d.dealers[1].process->output().find("caller=client request_id=obs-test-1234") !=
          std::string::npos);
  }
  // A dealer's access-log line of the seed release names the batch.
  const std::string d1_log = d.dealers[0].process->output();
  CHECK(d1_log.find("event=seed_released batch_id=" + batches[0]) != std::string::npos);

  // Issue 14 item 10: each dealer's lines carry its own identity, and only its own.
  for (auto& dealer : d.dealers) {
    CAPTURE(dealer.identity);
    const std::string log = dealer.process->output();
    CHECK(log.find("actor=dealer identity=" + dealer.identity + " event=listening") !=
          std::string::npos);
    CHECK(count_of(log, "actor=dealer identity=") ==
          count_of(log, "actor=dealer identity=" + dealer.identity + " "));
  }
}

}  // namespace

TEST_CASE(
    "observability: /metrics moves with a conversion, roles, /readyz, access log (PostgreSQL)") {
  run_metrics_case(db::Dialect::postgresql);
}

TEST_CASE("observability: the same on MariaDB") {
  run_metrics_case(db::Dialect::mysql);
}

namespace {

// A super dealer on a database server of its own, which the test stops; and a model owner
// whose super dealer cannot be reached.
void run_readiness_case(db::Dialect dialect) {
  auto own = test::start_server(dialect);
  test::Certificates certs({"super_dealer", "model_owner", "client", "monitor"});
  const auto start = [&](const std::string& actor, const std::string& db_url,
                         std::vector<std::string> env) {
    test::ActorProcess a;
    a.identity = actor;
    a.exe = actor;
    const auto port = std::to_string(test::free_port());
    a.url = "https://127.0.0.1:" + port;
    std::vector<std::string> argv = {test::binary(actor), "--listen.port=" + port};
    for (auto& f : certs.tls_flags(actor)) argv.push_back(f);
    env.push_back("PPI_DB_URL=" + db_url);
    a.process = std::make_unique<test::ChildProcess>(argv, env, certs.dir() / (actor + ".log"));
    test::wait_healthy(*a.process, certs.client("client"), a.url);
    return a;
  };
  auto sd = start("super_dealer", own->create_database("super_dealer"), {});
  auto mo = start("model_owner", test::test_databases().server(dialect).create_database("mo"),
                  {"PPI_SUPER_DEALER_URL=https://127.0.0.1:1",
                   "PPI_ONLINE_PORT=" + std::to_string(test::free_port())});

  CHECK(readyz(certs, sd.url).result() == status::ok);
  // The model owner cannot reach its super dealer: not ready, and it says why.
  const auto mo_ready = readyz(certs, mo.url);
  CHECK(mo_ready.result() == status::service_unavailable);
  CHECK(std::string(mo_ready[net::http::field::content_type]) == "application/problem+json");
  const auto mo_doc = nlohmann::json::parse(mo_ready.body());
  CHECK(mo_doc["checks"]["database"] == "ok");
  CHECK(mo_doc["checks"]["super_dealer"] == "unavailable");
  CHECK(mo_doc["detail"].get<std::string>().find("super_dealer: ") != std::string::npos);
  CHECK(mo_doc["code"] == "unavailable");

  // A real Prometheus scrapes the super dealer with a monitor certificate (issue 11 item 5).
  const std::string prometheus = on_path("prometheus");
  if (dialect != db::Dialect::postgresql) {
    // once is enough
  } else if (prometheus.empty()) {
    MESSAGE("prometheus is absent (Debian package prometheus, scripts/setup.sh): no real scrape");
  } else {
    const auto port = std::to_string(test::free_port());
    const fs::path config = certs.dir() / "prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                          << "scrape_configs:\n  - job_name: ppi\n    scheme: https\n"
                          << "    tls_config:\n      ca_file: " << (certs.dir() / "ca.pem").string()
                          << "\n      cert_file: " << (certs.dir() / "monitor.pem").string()
                          << "\n      key_file: " << (certs.dir() / "monitor.key").string()
                          << "\n    static_configs:\n      - targets: ['"
                          << sd.url.substr(std::string("https://").size()) << "']\n";
    test::ChildProcess server({prometheus, "--config.file=" + config.string(),
                               "--storage.tsdb.path=" + (certs.dir() / "tsdb").string(),
                               "--web.listen-address=127.0.0.1:" + port},
                              {}, certs.dir() / "prometheus.log");
    net::ClientOptions plain;
    plain.timeout = 2s;
    bool up = false;
    std::string last;
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         !up && std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(500ms);
      try {
        last =
            net::fetch(plain, verb::get,
                       "http://127.0.0.1:" + port + "/api/v1/query?query=up%7Bjob%3D%22ppi%22%7D")
                .body();
        const auto doc = nlohmann::json::parse(last);
        const auto& result = doc["data"]["result"];
        up = !result.empty() && result[0]["value"][1] == "1";
      } catch (const std::exception& e) {
        last = e.what();
      }
    }
    CHECK_MESSAGE(up, "Prometheus: " << last << "\n" << server.output());
    server.signal(SIGTERM);
    CHECK(server.wait(20s) == 0);
  }

  // The super dealer's database goes away: /readyz says so, /metrics still answers, and the
  // pool keeper backs off instead of failing (and logging) every 500 ms.
  own->stop();
  const auto stopped_at = std::chrono::steady_clock::now();
  const auto sd_ready = readyz(certs, sd.url);
  CHECK(sd_ready.result() == status::service_unavailable);
  const auto sd_doc = nlohmann::json::parse(sd_ready.body());
  CHECK(sd_doc["checks"]["database"] == "unavailable");
  CHECK(sd_doc["detail"].get<std::string>().starts_with("not ready: database: "));
  std::this_thread::sleep_until(stopped_at + 8s);
  const std::string log = sd.process->output();
  const auto failures = count_of(log, "event=pool_pass_failed");
  // Passes at 0, 0.5, 1.5, 3.5 and 7.5 s after the first failure (at most one more of a pass
  // already running when the server stopped), where every 500 ms would have been 16.
  CHECK_MESSAGE(failures >= 2, log);
  CHECK_MESSAGE(failures <= 6, log);
  CHECK(log.find("event=pool_pass_failed") != std::string::npos);
  CHECK(std::regex_search(log,
                          std::regex("event=pool_pass_failed reason=.* failures=3 retry_ms=2000")));
  CHECK(count_of(log, "event=not_ready check=database") == 1);
  const std::string page = scrape(certs, sd.url);
  CHECK(value_of(page, "ppi_pool_keeper_pass_failures_total") == static_cast<double>(failures));

  for (auto* a : {&sd, &mo}) {
    a->process->signal(SIGTERM);
    CHECK(a->process->wait(20s) == 0);
  }
}

}  // namespace

TEST_CASE(
    "observability: /readyz 503 without the database or the super dealer; keeper backoff; "
    "Prometheus scrapes (PostgreSQL)") {
  run_readiness_case(db::Dialect::postgresql);
}

TEST_CASE("observability: /readyz and keeper backoff on MariaDB") {
  run_readiness_case(db::Dialect::mysql);
}
