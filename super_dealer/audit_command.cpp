#include "super_dealer/audit_command.hpp"

#include <iostream>

#include "core/ids.hpp"
#include "ledger/event.hpp"
#include "net/tls.hpp"

namespace ppi::super_dealer {
namespace {

AuditScope scope_of(const std::string& batch_id, const std::string& since) {
  if (!batch_id.empty() && !since.empty()) {
    throw Error(Errc::invalid_argument, "give a batch or a time to audit since, not both");
  }
  AuditScope scope;
  if (!batch_id.empty()) {
    check_batch_id(batch_id);
    scope.batch_id = batch_id;
  }
  if (!since.empty()) scope.since_ms = ledger::parse_rfc3339_ms(since);
  return scope;
}

}  // namespace

app::Command audit_command() {
  app::Command c;
  c.name = "audit";
  c.summary =
      "cross-check the ledgers of this super dealer, its dealers and the model owners "
      "(audit.model_owners); exits 1 on any violation";
  c.keys = {"audit.model_owners", "batch.retention_seconds"};
  c.own_keys = {
      config::string_key("batch", "", "audit: only this batch id"),
      config::string_key("since", "",
                         "audit: only batches with an event at or after this RFC 3339 time, "
                         "e.g. 2026-12-02T00:00:00Z"),
  };
  for (const auto& k : c.own_keys) c.keys.push_back(k.name);
  c.database = true;
  c.tls = true;
  c.max_args = 0;
  c.run = [](app::CommandContext& ctx) {
    const AuditScope scope = scope_of(ctx.cfg.get_string("batch"), ctx.cfg.get_string("since"));
    const AuditReport report = run_audit(audit_sources(ctx.cfg, ctx.db), scope,
                                         ctx.cfg.get_int("batch.retention_seconds"));
    if (ctx.out.json()) {
      ctx.out.doc() = nlohmann::ordered_json::parse(report_json(report).dump());
    } else {
      std::cout << report_table(report);
    }
    return report.clean() ? 0 : 1;
  };
  return c;
}

void add_audit_route(net::Router& router, AuditSources base, std::int64_t retention_seconds) {
  router.add(
      net::http::verb::get, "/v1/audit", {net::role::kOperator},
      [base = std::move(base), retention_seconds](const net::Request& req, net::RequestContext&) {
        std::string batch_id, since;
        for (const auto& [name, value] : net::query_params(req.target())) {
          if (name == "batch_id") {
            batch_id = value;
          } else if (name == "since") {
            since = value;
          } else {
            throw Error(Errc::invalid_argument,
                        "unknown query parameter '" + name + "' (batch_id, since)");
          }
        }
        AuditSources sources = base;
        sources.dealers = RegistryStore(sources.db).dealers();
        const AuditReport report = run_audit(sources, scope_of(batch_id, since), retention_seconds);
        return net::json_response(net::http::status::ok, report_json(report).dump());
      });
}

}  // namespace ppi::super_dealer
