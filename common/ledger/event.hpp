#pragma once
// The audit events every actor appends to its ledger (docs/audit.md): one closed list, so that
// the super dealer's audit can cross-check the actors' records by name. An event is appended in
// the transaction that makes the change it records, and never updated or deleted (the schema's
// triggers refuse both, on both backends).

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ppi::ledger {

enum class Event {
  generated,         // dealer, super dealer: a generation of the batch started
  prepared,          // dealer: this dealer's share is stored (phase one of two)
  available,         // dealer, super dealer: the batch may be bound
  bound,             // dealer, super dealer: bound to one model owner and one client
  shares_released,   // dealer: a masked-share stream opened to the peer (one per stream)
  shares_delivered,  // dealer: a stream wrote the last element to the peer
  seeds_released,    // dealer: the seed and MAC-key mask to the peer (the client)
  converted,         // model owner: its share summed and stored; client: its seeds stored
  online_started,    // model owner, client: the online phase claimed the batch
  consumed,          // every actor: the batch was used and is finished
  failed,            // every actor: the batch is finished without use (details.reason)
  expired,           // dealer, model owner: batch.ttl_seconds passed before use
  material_deleted,  // dealer, model owner, client: the batch's shares or seeds are gone
};

inline constexpr std::array<std::string_view, 13> kEventNames = {
    "generated",        "prepared",       "available",       "bound",          "shares_released",
    "shares_delivered", "seeds_released", "converted",       "online_started", "consumed",
    "failed",           "expired",        "material_deleted"};

std::string_view event_name(Event e);
// Error(invalid_argument) for a name not in the list.
Event parse_event(std::string_view name);

// One row of an actor's audit_events table.
struct AuditRecord {
  std::int64_t id = 0;  // the actor's own order of events
  std::string batch_id;
  Event event = Event::generated;
  std::string actor;       // the identity (certificate CN) of the actor that wrote it
  std::string peer;        // the identity the change concerns or was asked by; "" for none
  std::int64_t at_ms = 0;  // Unix time in milliseconds
  nlohmann::json details = nlohmann::json::object();
};

// The JSON of GET /v1/audit/events (openapi/*.yaml, AuditEvent): `at` as RFC 3339 UTC.
nlohmann::json to_json(const AuditRecord& r);
// Error(invalid_argument) naming the field for a malformed record.
AuditRecord record_from_json(const nlohmann::json& j);

// "2026-12-02T07:45:12.345Z" for Unix milliseconds, and back (Error(invalid_argument) for
// anything else; a zone offset is accepted and converted).
std::string rfc3339_ms(std::int64_t unix_ms);
std::int64_t parse_rfc3339_ms(std::string_view text);

}  // namespace ppi::ledger
