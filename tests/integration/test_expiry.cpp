// Bound batches expire on time (issue 14 item 4): a batch bound to a model owner and a client
// that neither fetches is retired by every dealer once batch.ttl_seconds have passed, without
// anyone asking for it again: state 'expired', secrets and material deleted, the row kept. The
// model owner does the same with a converted share whose online phase never came.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "deployment.hpp"
#include "net/json_call.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Model "m" (300 triples) registered, and one fixture batch of it on every dealer.
std::string one_fixture_batch(test::Deployment& d) {
  const auto plan =
      material::MaterialPlan::from_json(json::parse(R"([{"type": "TRIPLE", "count": 300}])"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  return d.load_batches("m", plan, d.dealer_ids(), 1).at(0);
}

void run_expiry_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  for (test::ActorProcess& dealer : d.dealers) {
    dealer.env.push_back("PPI_BATCH_TTL_SECONDS=1");
    dealer.env.push_back("PPI_BATCH_EXPIRY_INTERVAL_SECONDS=1");
    d.restart(dealer);
  }
  const std::string batch = one_fixture_batch(d);
  const auto ids = d.dealer_ids();
  // Bound as the model owner asks for it, then left alone by both parties.
  const json bound = net::call_json(
      d.certs().client("model_owner"), net::http::verb::post, d.super_dealer.url + "/v1/batch_id",
      {{"model_id", "m"}, {"dealers", ids}, {"client_identity", "client"}});
  REQUIRE(bound.at("batch_id") == batch);
  // 1 s to live, then at most 1 s to the next sweep: nobody touches the batch meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (test::ActorProcess& dealer : d.dealers) {
    auto s = d.open(dealer.db_url)->acquire();
    while (
        s.exec("SELECT state FROM batches WHERE batch_id = ?", {batch}).rows.at(0).get_string(0) ==
            "bound" &&
        std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
  }
  for (test::ActorProcess& dealer : d.dealers) {
    CAPTURE(dealer.identity);
    auto s = d.open(dealer.db_url)->acquire();
    auto r = s.exec(
        "SELECT state, shares_seed IS NULL, mac_key_mask IS NULL FROM batches WHERE batch_id = ?",
        {batch});
    REQUIRE(r.rows.size() == 1);  // the record stays
    CHECK(r.rows[0].get_string(0) == "expired");
    CHECK(r.rows[0].get_int(1) == 1);
    CHECK(r.rows[0].get_int(2) == 1);
    CHECK(s.exec("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = ?", {batch})
              .rows[0]
              .get_int(0) == 0);
    CHECK(s.exec("SELECT COUNT(*) FROM releases WHERE batch_id = ?", {batch}).rows[0].get_int(0) ==
          0);
  }
}

// The model owner's half: a converted batch whose client never runs its online phase loses its
// share after batch.ttl_seconds, by the model owner's own sweep; the record and its ledger stay.
void run_share_expiry_case(db::Dialect dialect) {
  test::Deployment d(dialect, 3);
  d.model_owner.env.push_back("PPI_BATCH_TTL_SECONDS=2");
  d.model_owner.env.push_back("PPI_BATCH_EXPIRY_INTERVAL_SECONDS=1");
  d.kill(d.model_owner);
  d.restart(d.model_owner);
  const std::string batch = one_fixture_batch(d);
  std::string out;
  REQUIRE_MESSAGE(
      d.run_client({"convert", "--model=m", "--dealers=dealer-1,dealer-2,dealer-3"}, out) == 0,
      out);
  auto mo = d.open(d.model_owner.db_url)->acquire();
  const auto state = [&] {
    return mo.exec("SELECT state FROM inferences WHERE batch_id = ?", {batch})
        .rows.at(0)
        .get_string(0);
  };
  CHECK(state() == "ready");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (state() == "ready" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  CHECK(state() == "expired");
  CHECK(
      mo.exec("SELECT COUNT(*) FROM share_chunks WHERE batch_id = ?", {batch}).rows[0].get_int(0) ==
      0);
  CHECK(mo.exec("SELECT COUNT(*) FROM inferences WHERE batch_id = ? AND mac_key_share IS NULL",
                {batch})
            .rows[0]
            .get_int(0) == 1);
  auto events = mo.exec("SELECT event FROM audit_events WHERE batch_id = ? ORDER BY id", {batch});
  REQUIRE(events.rows.size() == 3);
  CHECK(events.rows[0].get_string(0) == "converted");
  CHECK(events.rows[1].get_string(0) == "expired");
  CHECK(events.rows[2].get_string(0) == "material_deleted");
}

}  // namespace

TEST_CASE("expiry: the model owner expires a converted share nobody used (PostgreSQL)") {
  run_share_expiry_case(db::Dialect::postgresql);
}

TEST_CASE("expiry: the model owner's share expiry on MariaDB") {
  run_share_expiry_case(db::Dialect::mysql);
}

TEST_CASE("expiry: dealers retire a bound batch nobody fetched, on time (PostgreSQL)") {
  run_expiry_case(db::Dialect::postgresql);
}

TEST_CASE("expiry: the same on MariaDB") {
  run_expiry_case(db::Dialect::mysql);
}
