#pragma once
// Collecting the ledgers for the audit (docs/audit.md): the super dealer's own from its
// database, each registered dealer's and each model owner's from GET /v1/audit/events over
// mTLS, pinned to the identity it must be. Shared by `super_dealer audit` and GET /v1/audit.

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"
#include "net/http_client.hpp"
#include "super_dealer/audit.hpp"
#include "super_dealer/registry_store.hpp"

namespace ppi::super_dealer {

struct ModelOwnerEndpoint {
  std::string identity, rest_url;
};

// `audit.model_owners`: "IDENTITY=https://host:port,...". Error(config) naming the entry.
std::vector<ModelOwnerEndpoint> parse_model_owners(const std::string& text);

// The super dealer's audit keys: audit.model_owners, batch.retention_seconds.
std::vector<config::KeySpec> audit_keys();

struct AuditScope {
  std::optional<std::string> batch_id;   // one batch
  std::optional<std::int64_t> since_ms;  // batches with an event at or after this time
};

struct AuditSources {
  std::shared_ptr<db::Database> db;  // the super dealer's
  std::string identity;              // the super dealer's certificate CN
  std::vector<DealerRecord> dealers;
  std::vector<ModelOwnerEndpoint> model_owners;
  net::ClientOptions rest;  // the super dealer's TLS identity
};

// Every actor's events in scope; an actor that cannot be reached is returned with its error.
std::vector<ActorLedger> collect_ledgers(const AuditSources& sources, const AuditScope& scope);

// The sources of a configured super dealer: its database, registered dealers, audit keys.
AuditSources audit_sources(const config::Config& cfg, std::shared_ptr<db::Database> db);

// Collects and checks: the report the command prints and GET /v1/audit answers.
AuditReport run_audit(const AuditSources& sources, const AuditScope& scope,
                      std::int64_t retention_seconds);

}  // namespace ppi::super_dealer
