#pragma once
// GET /v1/audit/events: an actor's own audit events, for the super dealer's audit (its
// configured identity, role super_dealer) and for operators (docs/audit.md). Query:
// batch_id, since (RFC 3339), after_id (paging: the last id of the previous page), limit
// (1..10000, default 10000). Answers {"actor", "events": [AuditEvent...], "complete"}:
// complete is false when the page was full and more may follow after its last id.

#include <memory>
#include <string>

#include "db/database.hpp"
#include "net/router.hpp"

namespace ppi::ledger {

void add_events_route(net::Router& router, std::shared_ptr<db::Database> db,
                      std::string super_dealer_identity);

}  // namespace ppi::ledger
