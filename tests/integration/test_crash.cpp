// Crash consistency (issue 15 item 3), on both backends: an actor stopped between two steps of
// a conversion (PPI_TEST_FAULT, core/test_fault.hpp: the process _exits there as a kill -9
// would stop it) is restarted and reconciles what it left half-done; the databases are then
// checked directly. Every batch ends served once or failed, and a failed one keeps no material
// at the model owner nor on any dealer; a dealer whose database stops and comes back is told
// of every batch that failed meanwhile, and the pool refills.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "db_servers.hpp"
#include "dealer/dealer_store.hpp"
#include "deployment.hpp"
#include "error_code.hpp"
#include "fixture_loader.hpp"

using namespace ppi;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

material::MaterialPlan crash_plan() {
  // 100000 elements, 25 messages of 4096: the fault fires after the first.
  return material::MaterialPlan::from_json(json::parse(R"([{"type": "TRIPLE", "count": 100000}])"));
}

void drop_fault(test::ActorProcess& actor) {
  std::erase_if(actor.env, [](const std::string& e) { return e.starts_with("PPI_TEST_FAULT="); });
}

// Waits for the fault's exit (not a kill from here: the process stopped itself at the point).
void wait_fault_exit(test::ActorProcess& actor) {
  const int status = actor.process->wait(60s);
  CAPTURE(actor.process->output());
  REQUIRE(actor.process->output().find("PPI_TEST_FAULT: exiting at") != std::string::npos);
  REQUIRE(status != -1);
}

std::string dealer_state(test::Deployment& d, const std::string& dealer, const std::string& batch) {
  auto s = d.open(d.dealer(dealer).db_url)->acquire();
  auto r = s.exec("SELECT state FROM batches WHERE batch_id = ?", {batch});
  REQUIRE(r.rows.size() == 1);
  return r.rows[0].get_string(0);
}

// A conversion cut off mid-stream, then the stopped actor restarted. The model owner stopped
// mid-collection (its inference row 'collecting', part of the share written in an uncommitted
// transaction) fails the inference at its restart; a dealer stopped after its first GetShares
// message outlasts the model owner's retries, which fail it. Either way the inference ends
// 'failed' with no share chunk, no dealer counts the batch as served, and the next conversion
// works.
void conversion_cut_off(db::Dialect dialect, bool model_owner_stops) {
  test::Deployment d(dialect, 3);
  const auto plan = crash_plan();
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  const auto ids = d.dealer_ids();
  const auto batches = d.load_batches("m", plan, ids, 2);
  auto& stopping = model_owner_stops ? d.model_owner : d.dealer("dealer-2");
  stopping.env.push_back(model_owner_stops ? "PPI_TEST_FAULT=mid_collection"
                                           : "PPI_TEST_FAULT=mid_share_stream");
  d.model_owner.env.push_back("PPI_GRPC_CHUNK_ELEMENTS=4096");
  d.restart(d.model_owner);
  if (!model_owner_stops) d.restart(stopping);
  CHECK(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) != 0);
  if (!model_owner_stops) CHECK_MESSAGE(out.find("dealer-2") != std::string::npos, out);
  wait_fault_exit(stopping);
  if (model_owner_stops) {
    auto mo = d.open(d.model_owner.db_url)->acquire();
    auto r = mo.exec("SELECT batch_id, state FROM inferences");
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0].get_string(0) == batches[0]);
    CHECK(r.rows[0].get_string(1) == "collecting");  // what the crash left
  }
  drop_fault(stopping);
  d.restart(stopping);
  {
    auto mo = d.open(d.model_owner.db_url)->acquire();
    auto r = mo.exec("SELECT state, failure FROM inferences WHERE batch_id = ?", {batches[0]});
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0].get_string(0) == "failed");
    if (model_owner_stops) CHECK(r.rows[0].get_string(1).find("restart") != std::string::npos);
    CHECK(mo.exec("SELECT COUNT(*) FROM share_chunks WHERE batch_id = ?", {batches[0]})
              .rows[0]
              .get_int(0) == 0);
  }
  // Cut off mid-stream: no dealer consumed the batch (no seeds were released), so it expires
  // with its binding (its sweep retires it at batch.ttl_seconds). "Delivered" means a dealer's last
  // Write was accepted by its transport (docs/protocol.md 5.1), so a dealer whose whole stream fit
  // in the socket buffers before the model owner stopped may have marked it (CI saw one in three do
  // so): such a dealer wrote every element, and the others only a part.
  int marked = 0;
  for (const auto& id : ids) {
    CAPTURE(id);
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto r = s.exec(
        "SELECT state, shares_completed_at IS NOT NULL, shares_sent_through, element_count, "
        "seed_released_at IS NULL FROM batches WHERE batch_id = ?",
        {batches[0]});
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0].get_string(0) == "bound");
    CHECK(r.rows[0].get_int(4) == 1);
    if (r.rows[0].get_int(1) == 1) {
      ++marked;
      CHECK(r.rows[0].get_int(2) == r.rows[0].get_int(3));
    } else {
      CHECK(r.rows[0].get_int(2) < r.rows[0].get_int(3));
    }
  }
  MESSAGE(marked << " of " << ids.size() << " dealers had written their whole stream");
  REQUIRE_MESSAGE(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) == 0, out);
  auto mo = d.open(d.model_owner.db_url)->acquire();
  CHECK(mo.exec("SELECT state FROM inferences WHERE batch_id = ?", {batches[1]})
            .rows.at(0)
            .get_string(0) == "ready");
  // Served once: both parts released, so every dealer consumed it.
  for (const auto& id : ids) CHECK(dealer_state(d, id, batches[1]) == "consumed");
}

// The super dealer stopped between committing a bind and telling the dealers: the batch is
// 'bound' at the super dealer and 'available' on every dealer. After the restart its pool
// keeper tells them again: the batch ends bound to the same parties on every dealer (and its
// row records that they were told), and binding goes on.
void super_dealer_after_bind_commit(db::Dialect dialect) {
  test::Deployment d(dialect, 3, {"PPI_TEST_FAULT=after_bind_commit"});
  const auto plan = crash_plan();
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  const auto ids = d.dealer_ids();
  const auto batches = d.load_batches("m", plan, ids, 2);
  CHECK(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) != 0);
  wait_fault_exit(d.super_dealer);
  std::string bound;
  {
    auto sd = d.open(d.super_dealer.db_url)->acquire();
    auto r =
        sd.exec("SELECT batch_id FROM batches WHERE state = 'bound' AND dealers_told_at IS NULL");
    REQUIRE(r.rows.size() == 1);
    bound = r.rows[0].get_string(0);
  }
  for (const auto& id : ids) CHECK(dealer_state(d, id, bound) == "available");
  drop_fault(d.super_dealer);
  d.restart(d.super_dealer);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto sd = d.open(d.super_dealer.db_url)->acquire();
    auto r = sd.exec("SELECT dealers_told_at IS NOT NULL FROM batches WHERE batch_id = ?", {bound});
    if (r.rows.at(0).get_int(0) == 1) break;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, d.super_dealer.process->output());
    std::this_thread::sleep_for(100ms);
  }
  for (const auto& id : ids) {
    CAPTURE(id);
    auto s = d.open(d.dealer(id).db_url)->acquire();
    auto r = s.exec(
        "SELECT state, model_owner_identity, client_identity, shares_seed IS NOT NULL FROM "
        "batches WHERE batch_id = ?",
        {bound});
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0].get_string(0) == "bound");
    CHECK(r.rows[0].get_string(1) == "model_owner");
    CHECK(r.rows[0].get_string(2) == "client");
    CHECK(r.rows[0].get_int(3) == 1);
  }
  REQUIRE_MESSAGE(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) == 0, out);
  auto sd = d.open(d.super_dealer.db_url)->acquire();
  CHECK(sd.exec("SELECT COUNT(*) FROM batches WHERE state = 'bound' AND dealers_told_at IS NULL")
            .rows[0]
            .get_int(0) == 0);
}

// Whatever path failed a batch and left its material (a crash between two steps), the dealer's
// own sweep deletes it: chunks and secrets go, the row stays 'failed'.
void dealer_sweep_deletes_failed_material(db::Dialect dialect) {
  auto [sd_db, dealer_dbs] = test::fixture_databases(dialect, "m");
  const auto batches = test::load_fixture_batches(*sd_db, dealer_dbs, "m", crash_plan(), 2);
  dealer::DealerStore store(dealer_dbs["dealer-1"]);
  store.bind(batches[0].batch_id, "model_owner", "client", 3600);
  auto s = dealer_dbs["dealer-1"]->acquire();
  s.exec("UPDATE batches SET state = 'failed' WHERE batch_id = ?", {batches[0].batch_id});
  store.expire_due();
  auto r = s.exec(
      "SELECT state, shares_seed IS NULL, mac_key_mask IS NULL FROM batches WHERE batch_id = ?",
      {batches[0].batch_id});
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].get_string(0) == "failed");
  CHECK(r.rows[0].get_int(1) == 1);
  CHECK(r.rows[0].get_int(2) == 1);
  CHECK(s.exec("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = ?", {batches[0].batch_id})
            .rows[0]
            .get_int(0) == 0);
  // The other batch, available, keeps its material.
  CHECK(s.exec("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = ?", {batches[1].batch_id})
            .rows[0]
            .get_int(0) > 0);
}

// A dealer's row of a batch: its state, and how many of its two secrets and its chunks it still
// holds; nullopt when the dealer has no such batch.
std::optional<std::pair<std::string, std::int64_t>> dealer_holds(db::Session& s,
                                                                 const std::string& batch) {
  auto r = s.exec(
      "SELECT state, CASE WHEN shares_seed IS NULL THEN 0 ELSE 1 END + CASE WHEN mac_key_mask "
      "IS NULL THEN 0 ELSE 1 END + (SELECT COUNT(*) FROM batch_chunks c WHERE c.batch_id = "
      "b.batch_id) FROM batches b WHERE batch_id = ?",
      {batch});
  if (r.rows.empty()) return std::nullopt;
  return std::pair{r.rows[0].get_string(0), r.rows[0].get_int(1)};
}

// The super dealer's fail of one dealer's copy (POST /v1/batches/{id}/fail): a batch bound but
// never released fails with its secrets and material gone, again is a no-op; one whose seeds
// were released is refused and keeps everything.
void dealer_withdraw(db::Dialect dialect) {
  auto [sd_db, dealer_dbs] = test::fixture_databases(dialect, "m");
  const auto batches = test::load_fixture_batches(*sd_db, dealer_dbs, "m", crash_plan(), 3);
  dealer::DealerStore store(dealer_dbs["dealer-1"]);
  auto s = dealer_dbs["dealer-1"]->acquire();
  const auto material_of = [&](const std::string& batch) {
    const auto held = dealer_holds(s, batch);
    REQUIRE(held);
    return *held;
  };
  store.bind(batches[0].batch_id, "model_owner", "client", 3600);
  store.withdraw(batches[0].batch_id, "test", "super_dealer");
  CHECK(material_of(batches[0].batch_id) == std::pair{std::string("failed"), std::int64_t{0}});
  store.withdraw(batches[0].batch_id, "test", "super_dealer");  // told again: accepted
  // Available (never bound): failed, material gone.
  store.withdraw(batches[1].batch_id, "test", "super_dealer");
  CHECK(material_of(batches[1].batch_id).second == 0);
  // Released already: refused, nothing deleted.
  store.bind(batches[2].batch_id, "model_owner", "client", 3600);
  store.release_seed(batches[2].batch_id, "client");
  const auto before = material_of(batches[2].batch_id);
  CHECK(test::error_code([&] { store.withdraw(batches[2].batch_id, "t", "super_dealer"); }) ==
        Errc::conflict);
  CHECK(material_of(batches[2].batch_id) == before);
  CHECK(before.first == "bound");
  CHECK(test::error_code([&] {
          store.withdraw("00000000-0000-4000-8000-000000000000", "t", "super_dealer");
        }) == Errc::not_found);
}

// What the dealers hold of the batches the super dealer failed: for each such batch, each
// dealer's row is absent or failed with no secrets and no chunks. Returns what is still held,
// one line per (batch, dealer).
std::vector<std::string> failed_material_held(test::Deployment& d) {
  std::vector<std::string> failed;
  {
    auto sd = d.open(d.super_dealer.db_url)->acquire();
    for (const auto& row : sd.exec("SELECT batch_id FROM batches WHERE state = 'failed'").rows) {
      failed.push_back(row.get_string(0));
    }
  }
  std::vector<std::string> held;
  for (const auto& id : d.dealer_ids()) {
    auto s = d.open(d.dealer(id).db_url)->acquire();
    for (const auto& batch : failed) {
      const auto row = dealer_holds(s, batch);
      if (row && (row->first != "failed" || row->second != 0)) {
        held.push_back(batch + " on " + id + ": " + row->first + ", " +
                       std::to_string(row->second) + " secrets/chunks");
      }
    }
  }
  return held;
}

std::int64_t untold_failures(test::Deployment& d) {
  auto sd = d.open(d.super_dealer.db_url)->acquire();
  return sd.exec("SELECT COUNT(*) FROM batches WHERE state = 'failed' AND dealers_told_at IS NULL")
      .rows.at(0)
      .get_int(0);
}

// A dealer's database stops while its pool is full and a client asks for a conversion, then
// comes back. The binding fails (the dealer cannot take it), generations fail meanwhile; the
// other dealers fail their copies at once, the dealer whose database was gone once it is back;
// then the pool refills and a conversion works.
void dealer_database_stopped(db::Dialect dialect) {
  test::Deployment d(dialect, 3, test::pool_env(2, 2));
  auto own = test::start_server(dialect);
  auto& victim = d.dealer("dealer-2");
  victim.db_url = own->create_database("dealer");
  std::erase_if(victim.env, [](const std::string& e) { return e.starts_with("PPI_DB_URL="); });
  victim.env.push_back("PPI_DB_URL=" + victim.db_url);
  d.restart(victim);
  const auto plan = material::MaterialPlan::from_json(
      json::parse(R"([{"type": "TRIPLE", "count": 2000}, {"type": "DABIT", "count": 100}])"));
  std::string out;
  REQUIRE_MESSAGE(d.register_model("m", plan, out) == 0, out);
  const auto ids = d.dealer_ids();
  d.form_group(ids);
  d.add_pool("m", ids);
  d.wait_available("m", ids, 2, 180s);

  own->halt();
  CHECK(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) != 0);
  CHECK_MESSAGE(out.find("dealer-2") != std::string::npos, out);
  std::string bound_then_failed;
  {
    auto sd = d.open(d.super_dealer.db_url)->acquire();
    auto r = sd.exec(
        "SELECT batch_id FROM batches WHERE state = 'failed' AND bound_at IS NOT NULL AND "
        "kind = 'batch'");
    REQUIRE(r.rows.size() == 1);
    bound_then_failed = r.rows[0].get_string(0);
  }
  // The two dealers that took the binding fail their copies while dealer-2 is still down.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (const std::string id : {"dealer-1", "dealer-3"}) {
    for (;;) {
      auto s = d.open(d.dealer(id).db_url)->acquire();
      const auto row = dealer_holds(s, bound_then_failed);
      REQUIRE(row);
      if (row->first == "failed") {
        CHECK(row->second == 0);
        break;
      }
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      id << " still holds it " << row->first << "\n"
                         << d.super_dealer.process->output());
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(untold_failures(d) >= 1);   // dealer-2 has not been told yet
  std::this_thread::sleep_for(2s);  // generations start and fail meanwhile

  own->resume();
  const auto told_by = std::chrono::steady_clock::now() + 60s;
  while (untold_failures(d) > 0) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < told_by, d.super_dealer.process->output());
    std::this_thread::sleep_for(200ms);
  }
  const auto held = failed_material_held(d);
  CHECK_MESSAGE(held.empty(), held.front());
  // Nothing is left generating for good, and the pool refills.
  const auto refilled = d.wait_available("m", ids, 2, 180s);
  CHECK(std::find(refilled.begin(), refilled.end(), bound_then_failed) == refilled.end());
  REQUIRE_MESSAGE(d.run_client({"convert", "--model=m", "--dealers=" + join(ids)}, out) == 0, out);
  CHECK(failed_material_held(d).empty());
}

// Cases that are short enough to run on both backends in one test case.
void on_both_backends(void (*run)(db::Dialect)) {
  for (auto dialect : {db::Dialect::postgresql, db::Dialect::mysql}) {
    CAPTURE(db::dialect_name(dialect));
    run(dialect);
  }
}

}  // namespace

TEST_CASE("crash: a dealer's sweep deletes the material failed batches still hold") {
  on_both_backends(dealer_sweep_deletes_failed_material);
}

TEST_CASE("crash: the model owner stopped mid-conversion fails it at restart (PostgreSQL)") {
  conversion_cut_off(db::Dialect::postgresql, true);
}

TEST_CASE("crash: the model owner stopped mid-conversion, on MariaDB") {
  conversion_cut_off(db::Dialect::mysql, true);
}

TEST_CASE("crash: a dealer stopped mid-stream, on PostgreSQL") {
  conversion_cut_off(db::Dialect::postgresql, false);
}

TEST_CASE("crash: a dealer stopped mid-stream, on MariaDB") {
  conversion_cut_off(db::Dialect::mysql, false);
}

TEST_CASE(
    "crash: the super dealer stopped after a bind commit tells the dealers at restart "
    "(PostgreSQL)") {
  super_dealer_after_bind_commit(db::Dialect::postgresql);
}

TEST_CASE("crash: the super dealer stopped after a bind commit, on MariaDB") {
  super_dealer_after_bind_commit(db::Dialect::mysql);
}

TEST_CASE("crash: the super dealer's fail of a dealer's copy deletes it unless released") {
  on_both_backends(dealer_withdraw);
}

TEST_CASE("crash: a dealer's database stopped mid-flow and back, on PostgreSQL") {
  dealer_database_stopped(db::Dialect::postgresql);
}

TEST_CASE("crash: a dealer's database stopped mid-flow and back, on MariaDB") {
  dealer_database_stopped(db::Dialect::mysql);
}
