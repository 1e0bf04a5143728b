// The ledger on both backends (docs/audit.md): a state change and its audit event are written
// together or not at all, the events are append-only for the actor's own account, and the
// queries the audit uses filter by batch, time and page.
#include <thread>

#include "db_test_util.hpp"
#include "dealer/batch_state.hpp"
#include "ledger/ledger.hpp"

#define PPI_BACKENDS Postgres, MariaDb

namespace ppi::db::testing {
namespace {

constexpr const char* kBatch = "6f1c2b3a-0000-4000-8000-000000000001";
constexpr const char* kOther = "6f1c2b3a-0000-4000-8000-000000000002";

// A dealer's schema, with one generating batch.
std::shared_ptr<Database> dealer_db(Dialect d) {
  auto db = fresh_db(d, /*migrated=*/false);
  migrate(*db, "dealer");
  auto s = db->acquire();
  for (const char* id : {kBatch, kOther}) {
    s.exec("INSERT INTO batches (batch_id, model_id, state) VALUES (?, 'm', ?)",
           {std::string(id), dealer::kBatches.name(dealer::BatchState::generating)});
  }
  return db;
}

std::string state_of(Session& s, const char* id) {
  return s.exec("SELECT state FROM batches WHERE batch_id = ?", {std::string(id)})
      .rows.at(0)
      .get_string(0);
}

}  // namespace

TEST_CASE_TEMPLATE("ledger: a move writes the state and its event in the caller's transaction", B,
                   PPI_BACKENDS) {
  auto db = dealer_db(B::dialect);
  ledger::set_actor_identity("dealer-1");
  auto s = db->acquire();
  {
    Transaction tx(s);
    dealer::kBatches.move(s, kBatch, dealer::BatchState::prepared, ledger::Event::prepared,
                          "super_dealer", {{"note", "rolled back"}});
    // No commit: neither the state nor the event may remain.
  }
  CHECK(state_of(s, kBatch) == "generating");
  CHECK(count_rows(s, "audit_events") == 0);
  {
    Transaction tx(s);
    dealer::kBatches.move(s, kBatch, dealer::BatchState::prepared, ledger::Event::prepared,
                          "super_dealer", {{"elements", 7}});
    tx.commit();
  }
  CHECK(state_of(s, kBatch) == "prepared");
  const auto events = ledger::read(s, {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].batch_id == kBatch);
  CHECK(events[0].event == ledger::Event::prepared);
  CHECK(events[0].actor == "dealer-1");
  CHECK(events[0].peer == "super_dealer");
  CHECK(events[0].details.at("elements") == 7);
  CHECK(events[0].at_ms > 1'700'000'000'000);

  // move_from changes nothing when the row is not in the expected state.
  CHECK_FALSE(dealer::kBatches.move_from(s, kBatch, dealer::BatchState::generating,
                                         dealer::BatchState::failed, ledger::Event::failed, ""));
  CHECK(state_of(s, kBatch) == "prepared");
  CHECK(count_rows(s, "audit_events") == 1);
  CHECK(dealer::kBatches.move_from(s, kBatch, dealer::BatchState::prepared,
                                   dealer::BatchState::failed, ledger::Event::failed, "",
                                   {{"reason", "test"}}));
  CHECK(state_of(s, kBatch) == "failed");
  CHECK(count_rows(s, "audit_events") == 2);
  // A row that does not exist is an error, not a silent no-op.
  CHECK(code_of([&] {
          dealer::kBatches.move(s, "6f1c2b3a-0000-4000-8000-0000000000ff",
                                dealer::BatchState::bound, ledger::Event::bound, "");
        }) == Errc::not_found);
  ledger::set_actor_identity("");
}

TEST_CASE_TEMPLATE("ledger: the actor's own account can neither update nor delete an event", B,
                   PPI_BACKENDS) {
  auto db = dealer_db(B::dialect);
  auto s = db->acquire();
  ledger::append(s, kBatch, ledger::Event::generated, "");
  CHECK(code_of([&] { s.exec("UPDATE audit_events SET peer_identity = 'forged'"); }) !=
        Errc::internal);
  CHECK(code_of([&] { s.exec("DELETE FROM audit_events"); }) != Errc::internal);
  if (B::dialect == Dialect::postgresql) {
    CHECK(code_of([&] { s.exec_ddl("TRUNCATE audit_events"); }) != Errc::internal);
  }
  const auto events = ledger::read(s, {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].peer.empty());
  // Inserting stays allowed: the ledger is append-only, not read-only.
  ledger::append(s, kOther, ledger::Event::generated, "");
  CHECK(count_rows(s, "audit_events") == 2);
}

TEST_CASE_TEMPLATE("ledger: events are read by batch, by time and in pages", B, PPI_BACKENDS) {
  auto db = dealer_db(B::dialect);
  auto s = db->acquire();
  ledger::append(s, kBatch, ledger::Event::generated, "");
  ledger::append(s, kOther, ledger::Event::generated, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto after = ledger::read(s, {}).back().at_ms + 1;
  ledger::append(s, kBatch, ledger::Event::prepared, "");
  ledger::Query by_batch;
  by_batch.batch_id = kBatch;
  const auto mine = ledger::read(s, by_batch);
  REQUIRE(mine.size() == 2);
  CHECK(mine[0].event == ledger::Event::generated);
  CHECK(mine[1].event == ledger::Event::prepared);
  ledger::Query since;
  since.since_ms = after;
  const auto late = ledger::read(s, since);
  REQUIRE(late.size() == 1);
  CHECK(late[0].event == ledger::Event::prepared);
  ledger::Query page;
  page.limit = 2;
  const auto first = ledger::read(s, page);
  REQUIRE(first.size() == 2);
  page.after_id = first.back().id;
  const auto second = ledger::read(s, page);
  REQUIRE(second.size() == 1);
  CHECK(second[0].id > first.back().id);
}

}  // namespace ppi::db::testing
