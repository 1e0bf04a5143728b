// The audit event's names and JSON, and the RFC 3339 times of GET /v1/audit/events.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "ledger/event.hpp"

using namespace ppi;
using namespace ppi::ledger;

TEST_CASE("audit events: every name parses back to its event; others are refused") {
  for (std::size_t i = 0; i < kEventNames.size(); ++i) {
    CHECK(parse_event(kEventNames[i]) == static_cast<Event>(i));
    CHECK(event_name(static_cast<Event>(i)) == kEventNames[i]);
  }
  CHECK(event_name(Event::material_deleted) == "material_deleted");
  CHECK_THROWS_AS(parse_event("deleted"), Error);
}

TEST_CASE("audit events: RFC 3339 times round-trip at millisecond precision") {
  CHECK(rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(rfc3339_ms(1796196912345) == "2026-12-02T07:35:12.345Z");
  CHECK(parse_rfc3339_ms("2026-12-02T07:35:12.345Z") == 1796196912345);
  CHECK(parse_rfc3339_ms("2026-12-02T07:35:12Z") == 1796196912000);
  CHECK(parse_rfc3339_ms("2026-12-02T08:35:12.3+01:00") == 1796196912300);
  for (const char* bad : {"2026-12-02 07:35:12", "2026-12-02T07:35:12", "2026-13-02T07:35:12Z",
                          "yesterday", "2026-12-02T07:35:12.Z", "2026-12-02T07:35:12Zjunk"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_rfc3339_ms(bad), Error);
  }
}

TEST_CASE("audit events: the JSON of an event reads back; a malformed one names the field") {
  AuditRecord r;
  r.id = 42;
  r.batch_id = "6f1c2b3a-0000-4000-8000-000000000001";
  r.event = Event::seeds_released;
  r.actor = "dealer-2";
  r.peer = "client";
  r.at_ms = 1796196912345;
  r.details = {{"bytes", 32}};
  const auto j = to_json(r);
  CHECK(j.at("event") == "seeds_released");
  CHECK(j.at("at") == "2026-12-02T07:35:12.345Z");
  const auto back = record_from_json(j);
  CHECK(back.id == 42);
  CHECK(back.event == Event::seeds_released);
  CHECK(back.at_ms == r.at_ms);
  CHECK(back.details == r.details);
  auto broken = j;
  broken.erase("peer");
  try {
    record_from_json(broken);
    FAIL("accepted an event without peer");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("peer") != std::string::npos);
  }
}
