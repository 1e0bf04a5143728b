// The audit's cross-checks on hand-made ledgers (super_dealer/audit.hpp): a whole clean batch
// passes, and each forged record is flagged with its check, batch, actor and rows.
#include <doctest/doctest.h>

#include <algorithm>

#include "super_dealer/audit.hpp"

using namespace ppi;
using namespace ppi::super_dealer;
using ledger::Event;

namespace {

constexpr const char* kB = "6f1c2b3a-0000-4000-8000-00000000000b";
constexpr std::int64_t kT0 = 1'796'000'000'000;  // ms
const char* kGroup = "dealer-1,dealer-2,dealer-3";

struct Builder {
  std::vector<ActorLedger> ledgers;
  ActorLedger& actor(ActorKind kind, const std::string& id) {
    for (auto& l : ledgers) {
      if (l.identity == id) return l;
    }
    ledgers.push_back({kind, id, {}, std::nullopt});
    return ledgers.back();
  }
  void add(ActorKind kind, const std::string& id, Event e, const std::string& peer, std::int64_t at,
           nlohmann::json details = nlohmann::json::object()) {
    auto& l = actor(kind, id);
    ledger::AuditRecord r;
    r.id = static_cast<std::int64_t>(l.events.size()) + 1;
    r.batch_id = kB;
    r.event = e;
    r.actor = id;
    r.peer = peer;
    r.at_ms = at;
    r.details = std::move(details);
    l.events.push_back(std::move(r));
  }
};

// One batch from generation to consumption, as the actors record it.
Builder clean_batch() {
  Builder b;
  b.add(ActorKind::super_dealer, "super_dealer", Event::generated, "", kT0);
  for (const char* d : {"dealer-1", "dealer-2", "dealer-3"}) {
    b.add(ActorKind::dealer, d, Event::generated, "", kT0);
    b.add(ActorKind::dealer, d, Event::prepared, "", kT0 + 100);
  }
  b.add(ActorKind::super_dealer, "super_dealer", Event::available, "", kT0 + 200);
  b.add(
      ActorKind::super_dealer, "super_dealer", Event::bound, "model_owner", kT0 + 300,
      {{"model_owner", "model_owner"}, {"client", "client"}, {"group", kGroup}, {"kind", "batch"}});
  for (const char* d : {"dealer-1", "dealer-2", "dealer-3"}) {
    b.add(ActorKind::dealer, d, Event::bound, "super_dealer", kT0 + 310,
          {{"model_owner", "model_owner"},
           {"client", "client"},
           {"expires_at_unix", (kT0 + 3'600'000) / 1000}});
    b.add(ActorKind::dealer, d, Event::shares_released, "model_owner", kT0 + 400);
    b.add(ActorKind::dealer, d, Event::shares_delivered, "model_owner", kT0 + 500);
    b.add(ActorKind::dealer, d, Event::seeds_released, "client", kT0 + 600);
    b.add(ActorKind::dealer, d, Event::consumed, "", kT0 + 600);
    b.add(ActorKind::dealer, d, Event::material_deleted, "", kT0 + 600);
  }
  b.add(ActorKind::model_owner, "model_owner", Event::converted, "client", kT0 + 550);
  b.add(ActorKind::model_owner, "model_owner", Event::online_started, "client", kT0 + 700);
  b.add(ActorKind::model_owner, "model_owner", Event::consumed, "", kT0 + 800);
  b.add(ActorKind::model_owner, "model_owner", Event::material_deleted, "", kT0 + 800);
  return b;
}

AuditReport audit(const Builder& b, std::int64_t now = kT0 + 7'200'000) {
  return check_ledgers(b.ledgers, {now, 3600});
}

const Violation* find(const AuditReport& r, const std::string& check) {
  const auto it = std::find_if(r.violations.begin(), r.violations.end(),
                               [&](const Violation& v) { return v.check == check; });
  return it == r.violations.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("audit: a batch recorded whole and consistently by every actor is clean") {
  const auto report = audit(clean_batch());
  for (const auto& v : report.violations) FAIL_CHECK(v.check << " " << v.actor << " " << v.message);
  CHECK(report.clean());
  REQUIRE(report.batches.size() == 1);
  CHECK(report.batches[0].model_owner == "model_owner");
  CHECK(report.batches[0].events.size() == 5);
  CHECK(report_table(report).find("1 batches, 0 violations") != std::string::npos);
  CHECK(report_json(report).at("clean") == true);
}

TEST_CASE("audit: a second seed release on one dealer is flagged with both rows") {
  auto b = clean_batch();
  b.add(ActorKind::dealer, "dealer-2", Event::seeds_released, "client", kT0 + 650);
  const auto report = audit(b);
  const Violation* v = find(report, "released_once");
  REQUIRE(v);
  CHECK(v->batch_id == kB);
  CHECK(v->actor == "dealer-2");
  CHECK(v->rows.size() == 2);
  // It came after the dealer consumed the batch, too.
  CHECK(find(report, "nothing_after_expiry"));
  CHECK_FALSE(report.clean());
}

TEST_CASE("audit: a seed released to another client than the bound one is flagged") {
  auto b = clean_batch();
  auto& events = b.actor(ActorKind::dealer, "dealer-3").events;
  for (auto& e : events) {
    if (e.event == Event::seeds_released) e.peer = "mallory";
  }
  const auto report = audit(b);
  const Violation* v = find(report, "seeds_to_client");
  REQUIRE(v);
  CHECK(v->actor == "dealer-3");
  CHECK(v->message.find("mallory") != std::string::npos);
  REQUIRE(v->rows.size() == 1);
}

TEST_CASE("audit: a bound batch missing on one dealer is flagged on that dealer") {
  auto b = clean_batch();
  auto& l = b.actor(ActorKind::dealer, "dealer-1");
  l.events.clear();
  const auto report = audit(b);
  const Violation* v = find(report, "bound_on_every_dealer");
  REQUIRE(v);
  CHECK(v->actor == "dealer-1");
  // The model owner converted and consumed it, so dealer-1's releases are missing too.
  CHECK(find(report, "every_dealer_released"));
}

TEST_CASE("audit: shares to another model owner, releases after expiry, material kept") {
  auto b = clean_batch();
  b.add(ActorKind::dealer, "dealer-1", Event::shares_released, "thief", kT0 + 3'700'000);
  auto& mo = b.actor(ActorKind::model_owner, "model_owner").events;
  mo.pop_back();  // its material_deleted
  const auto report = audit(b);
  const Violation* owner = find(report, "shares_to_owner");
  REQUIRE(owner);
  CHECK(owner->actor == "dealer-1");
  const Violation* late = find(report, "nothing_after_expiry");
  REQUIRE(late);
  CHECK(late->message.find("expired") != std::string::npos);
  const Violation* kept = find(report, "retention");
  REQUIRE(kept);
  CHECK(kept->actor == "model_owner");
  // Within the retention time, keeping the material is no violation yet.
  CHECK_FALSE(find(audit(b, kT0 + 1000), "retention"));
}

TEST_CASE("audit: an actor that cannot be reached makes the audit incomplete") {
  auto b = clean_batch();
  b.actor(ActorKind::dealer, "dealer-2").error = "connection refused";
  const auto report = audit(b);
  const Violation* v = find(report, "actor_unreachable");
  REQUIRE(v);
  CHECK(v->actor == "dealer-2");
  // Its missing records are not blamed on it: nothing else is flagged for dealer-2.
  for (const auto& other : report.violations) {
    if (other.check != "actor_unreachable") CHECK(other.actor != "dealer-2");
  }
}
