// The cross-actor audit (issue 11 items 1 and 2, docs/audit.md) with the real executables, on
// both backends: after real inferences `super_dealer audit` is clean; then, on the dealers'
// own database accounts, a second seed release of one batch, a seed released to another
// client, and a bound batch missing on one dealer are forged, and the audit names each with
// its batch, actor and rows, and exits non-zero. GET /v1/audit serves operators only.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "audit_check.hpp"
#include "deployment.hpp"
#include "digits_deployment.hpp"
#include "ledger/ledger.hpp"
#include "process.hpp"

using namespace ppi;

namespace {

int audit(test::Deployment& d, std::vector<std::string> args, std::string& out) {
  return test::run_audit(d, std::move(args), out);
}

nlohmann::json audit_json(test::Deployment& d, std::vector<std::string> args, int& status) {
  std::string out;
  args.push_back("--json");
  status = audit(d, std::move(args), out);
  auto doc = nlohmann::json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(!doc.is_discarded(), out);
  return doc;
}

// The violations of `check` in a report (of one batch, when given).
std::vector<nlohmann::json> of(const nlohmann::json& report, const std::string& check,
                               const std::string& batch = "") {
  std::vector<nlohmann::json> out;
  for (const auto& v : report.at("violations")) {
    if (v.at("check") == check && (batch.empty() || v.at("batch_id") == batch)) out.push_back(v);
  }
  return out;
}

// An event written straight into an actor's audit_events with its own database account, at
// `age_ms` in the past: what a tampered or buggy actor could leave behind.
void forge(test::Deployment& d, const std::string& db_url, const std::string& batch,
           ledger::Event event, const std::string& actor, const std::string& peer,
           std::int64_t age_ms, const nlohmann::json& details = nlohmann::json::object()) {
  auto s = d.open(db_url)->acquire();
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  s.exec(
      "INSERT INTO audit_events (batch_id, event, actor_identity, peer_identity, at_unix_ms, "
      "details) VALUES (?, ?, ?, ?, ?, ?)",
      {batch, std::string(ledger::event_name(event)), actor, peer, now - age_ms, details.dump()});
}

void run_audit_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  const auto loaded = test::register_digits_with_batches(d, 3);
  std::string out;
  const auto input = test::write_digits_row(d.certs().dir() / "audit-input.json");
  for (int i = 0; i < 2; ++i) {
    REQUIRE_MESSAGE(d.run_client({"infer", "--model=digits", "--dealers=dealer-1,dealer-2,dealer-3",
                                  "--input=" + input.string()},
                                 out) == 0,
                    out);
  }
  std::vector<std::string> used;
  {
    auto s = d.open(d.model_owner.db_url)->acquire();
    for (const auto& row :
         s.exec("SELECT batch_id FROM inferences WHERE state = 'done' ORDER BY batch_id").rows) {
      used.push_back(row.get_string(0));
    }
  }
  REQUIRE(used.size() == 2);
  std::string unused;
  for (const auto& b : loaded) {
    if (std::find(used.begin(), used.end(), b) == used.end()) unused = b;
  }
  REQUIRE_FALSE(unused.empty());

  // Real work leaves a clean ledger on every actor: exit 0, the table and the JSON agree.
  REQUIRE_MESSAGE(audit(d, {}, out) == 0, out);
  CHECK_MESSAGE(out.find("3 batches, 0 violations") != std::string::npos, out);
  int status = -1;
  auto clean = audit_json(d, {}, status);
  CHECK(status == 0);
  CHECK(clean.at("clean") == true);
  REQUIRE(clean.at("batches").size() == 3);
  for (const auto& b : clean.at("batches")) {
    if (b.at("batch_id") != used[0]) continue;
    CHECK(b.at("model_owner") == "model_owner");
    CHECK(b.at("client") == "client");
    const auto& events = b.at("events");
    for (const char* actor : {"super_dealer", "dealer-1", "dealer-2", "dealer-3", "model_owner"}) {
      CHECK_MESSAGE(events.contains(actor), actor);
    }
    CHECK(events.at("model_owner") ==
          nlohmann::json({"converted", "online_started", "consumed", "material_deleted"}));
  }
  auto one = audit_json(d, {"--batch=" + used[1]}, status);
  CHECK(status == 0);
  REQUIRE(one.at("batches").size() == 1);
  CHECK(one.at("batches")[0].at("batch_id") == used[1]);

  // Forged, each on the actor's own account: a second seed release of used[0] on dealer-2,
  // a seed of used[1] to 'mallory' on dealer-3, and `unused` bound by the super dealer (an hour
  // ago) and on dealers 2 and 3 but never on dealer-1.
  forge(d, d.dealer("dealer-2").db_url, used[0], ledger::Event::seeds_released, "dealer-2",
        "client", 0);
  forge(d, d.dealer("dealer-3").db_url, used[1], ledger::Event::seeds_released, "dealer-3",
        "mallory", 0);
  const nlohmann::json binding = {{"model_owner", "model_owner"},
                                  {"client", "client"},
                                  {"group", "dealer-1,dealer-2,dealer-3"},
                                  {"kind", "batch"}};
  forge(d, d.super_dealer.db_url, unused, ledger::Event::bound, "super_dealer", "model_owner",
        3'600'000, binding);
  for (const char* dealer : {"dealer-2", "dealer-3"}) {
    forge(d, d.dealer(dealer).db_url, unused, ledger::Event::bound, dealer, "super_dealer",
          3'600'000, {{"model_owner", "model_owner"}, {"client", "client"}});
  }
  auto report = audit_json(d, {}, status);
  CHECK(status != 0);
  CHECK(report.at("clean") == false);
  // (dealer-3's seed to mallory is a second release of used[1] too.)
  const auto twice = of(report, "released_once", used[0]);
  REQUIRE(twice.size() == 1);
  CHECK(twice[0].at("batch_id") == used[0]);
  CHECK(twice[0].at("actor") == "dealer-2");
  CHECK(twice[0].at("rows").size() == 2);
  const auto stranger = of(report, "seeds_to_client");
  REQUIRE(stranger.size() == 1);
  CHECK(stranger[0].at("batch_id") == used[1]);
  CHECK(stranger[0].at("actor") == "dealer-3");
  CHECK(stranger[0].at("rows").size() == 1);
  const auto missing = of(report, "bound_on_every_dealer");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].at("batch_id") == unused);
  CHECK(missing[0].at("actor") == "dealer-1");
  REQUIRE(audit(d, {}, out) != 0);
  CHECK_MESSAGE(
      out.find("VIOLATION released_once batch=" + used[0] + " actor=dealer-2") != std::string::npos,
      out);

  // The events the audit read cannot be rewritten through the actor's account.
  {
    auto s = d.open(d.dealer("dealer-2").db_url)->acquire();
    CHECK_THROWS_AS(s.exec("DELETE FROM audit_events WHERE peer_identity = 'client'"), Error);
    // (Row triggers: each statement must match rows of dealer-2's own to be refused.)
    CHECK_THROWS_AS(s.exec("UPDATE audit_events SET peer_identity = 'someone' WHERE "
                           "peer_identity = 'client'"),
                    Error);
  }

  // Over REST: operators only, each actor's own events to the super dealer only.
  const auto rest =
      net::fetch(d.certs().client("operator").to("super_dealer"), net::http::verb::get,
                 d.super_dealer.url + "/v1/audit?batch_id=" + used[0]);
  REQUIRE_MESSAGE(rest.result() == net::http::status::ok, rest.body());
  const auto served = nlohmann::json::parse(rest.body());
  REQUIRE(served.at("batches").size() == 1);
  CHECK(of(served, "released_once", used[0]).size() == 1);
  CHECK(net::fetch(d.certs().client("client").to("super_dealer"), net::http::verb::get,
                   d.super_dealer.url + "/v1/audit")
            .result() == net::http::status::forbidden);
  CHECK(net::fetch(d.certs().client("client").to("dealer-1"), net::http::verb::get,
                   d.dealer("dealer-1").url + "/v1/audit/events")
            .result() == net::http::status::forbidden);
  const auto bad = net::fetch(d.certs().client("operator").to("dealer-1"), net::http::verb::get,
                              d.dealer("dealer-1").url + "/v1/audit/events?since=yesterday");
  CHECK(bad.result() == net::http::status::bad_request);
  CHECK(bad.body().find("RFC 3339") != std::string::npos);
}

}  // namespace

TEST_CASE("audit: real work is clean, forged releases and bindings are named (postgresql)") {
  run_audit_case(db::Dialect::postgresql);
}

TEST_CASE("audit: real work is clean, forged releases and bindings are named (mariadb)") {
  run_audit_case(db::Dialect::mysql);
}
