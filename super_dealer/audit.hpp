#pragma once
// The cross-actor audit of batches (docs/audit.md): the super dealer's own ledger, each
// dealer's and each model owner's, checked against one another. Pure: collection over REST
// lives in audit_collect.hpp.
//
// For every batch the super dealer bound (its `bound` event names the model owner, the client
// and the group), and every batch any actor recorded:
//   bound_once           no actor records two `bound` events for one batch
//   released_once        no dealer records two `seeds_released` or two `shares_delivered`
//   binding_matches      a dealer's `bound` names the super dealer's model owner and client
//   shares_to_owner      every shares_released / shares_delivered peer is the bound model owner
//   seeds_to_client      every seeds_released peer is the bound client
//   bound_on_every_dealer  a batch the super dealer bound (and did not fail) is bound on every
//                        dealer of its group
//   every_dealer_released  a batch the model owner converted was delivered by every dealer of
//                        the group; one it consumed had its seeds released by every dealer
//   conversion_recorded  shares every dealer delivered are recorded converted (or failed) by
//                        the model owner; a consumed batch was online_started first
//   nothing_after_expiry no release after the dealer's expiry time or after it finished the
//                        batch (consumed, expired, failed)
//   retention            an actor that held material of a batch it finished more than
//                        retention_seconds ago recorded material_deleted
//   actor_unreachable    an actor's events could not be collected (the audit is incomplete)

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event.hpp"

namespace ppi::super_dealer {

enum class ActorKind { super_dealer, dealer, model_owner };

// One actor's events, as collected (or why they could not be).
struct ActorLedger {
  ActorKind kind = ActorKind::dealer;
  std::string identity;  // dealer id, model owner identity, or the super dealer's
  std::vector<ledger::AuditRecord> events;
  std::optional<std::string> error;  // set when the events could not be collected
};

struct Violation {
  std::string check;     // one of the names above
  std::string batch_id;  // "" for actor_unreachable
  std::string actor;     // the identity whose records show it
  std::string message;
  std::vector<std::int64_t> rows;  // audit_events ids of `actor` involved
};

struct BatchAudit {
  std::string batch_id, kind, model_owner, client, group;
  std::map<std::string, std::vector<std::string>> events;  // actor -> event names in order
};

struct AuditReport {
  std::vector<BatchAudit> batches;
  std::vector<Violation> violations;
  bool clean() const { return violations.empty(); }
};

struct AuditSettings {
  std::int64_t now_ms = 0;
  std::int64_t retention_seconds = 3600;
};

AuditReport check_ledgers(const std::vector<ActorLedger>& ledgers, const AuditSettings& settings);

nlohmann::json report_json(const AuditReport& report);
// The human table: one line per batch, then one per violation.
std::string report_table(const AuditReport& report);

}  // namespace ppi::super_dealer
