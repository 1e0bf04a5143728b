#pragma once
// The audit's two faces (docs/audit.md): `super_dealer audit [--batch ID | --since TIME]
// [--json]`, which prints the report and exits 1 on any violation, and GET /v1/audit
// (operators only), which answers the same report as JSON.

#include "app/cli.hpp"
#include "net/router.hpp"
#include "super_dealer/audit_collect.hpp"

namespace ppi::super_dealer {

app::Command audit_command();

// `base` without dealers: the registered dealers are read again for every request.
void add_audit_route(net::Router& router, AuditSources base, std::int64_t retention_seconds);

}  // namespace ppi::super_dealer
