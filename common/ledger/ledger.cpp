#include "ledger/ledger.hpp"

#include <chrono>
#include <mutex>

#include "db/sql_text.hpp"

namespace ppi::ledger {
namespace {

std::mutex identity_mutex;
std::string& identity_storage() {
  static std::string identity;
  return identity;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AuditRecord record_of(const db::Row& row) {
  AuditRecord r;
  r.id = row.get_int(0);
  r.batch_id = row.get_string(1);
  r.event = parse_event(row.get_string(2));
  r.actor = row.get_string(3);
  r.peer = row.get_string(4);
  r.at_ms = row.get_int(5);
  r.details = nlohmann::json::parse(row.get_string(6), nullptr, false);
  if (!r.details.is_object()) {
    throw Error(Errc::database, "audit event " + std::to_string(r.id) + " has malformed details");
  }
  return r;
}

}  // namespace

void set_actor_identity(std::string identity) {
  std::lock_guard lock(identity_mutex);
  identity_storage() = std::move(identity);
}

std::string actor_identity() {
  std::lock_guard lock(identity_mutex);
  return identity_storage();
}

void append(db::Session& s, std::string_view batch_id, Event event, std::string_view peer,
            const nlohmann::json& details) {
  s.exec(
      "INSERT INTO audit_events (batch_id, event, actor_identity, peer_identity, at_unix_ms, "
      "details) VALUES (?, ?, ?, ?, ?, ?)",
      {std::string(batch_id), std::string(event_name(event)), actor_identity(), std::string(peer),
       now_ms(), details.is_null() ? std::string("{}") : details.dump()});
}

std::vector<AuditRecord> read(db::Session& s, const Query& q) {
  // One constant text per filter combination: statements are prepared and cached by text.
  static constexpr const char* kSelect =
      "SELECT id, batch_id, event, actor_identity, peer_identity, at_unix_ms, details FROM "
      "audit_events WHERE id > ?";
  std::string sql = kSelect;
  std::vector<db::Param> params{q.after_id};
  if (q.batch_id) {
    sql += " AND batch_id = ?";
    params.emplace_back(*q.batch_id);
  }
  if (q.since_ms) {
    sql += " AND at_unix_ms >= ?";
    params.emplace_back(*q.since_ms);
  }
  sql += " ORDER BY id LIMIT ?";
  params.emplace_back(q.limit);
  std::vector<AuditRecord> out;
  for (const auto& row : s.exec(sql, params).rows) out.push_back(record_of(row));
  return out;
}

namespace detail {

bool move_state(db::Session& s, std::string_view table, std::string_view key, std::string_view id,
                const std::string& to, Event event, std::string_view peer,
                const nlohmann::json& details, const std::optional<std::string>& from) {
  if (!db::detail::is_identifier(table) || !db::detail::is_identifier(key)) {
    throw Error(Errc::internal, "ledger: bad table or key name");
  }
  std::string sql =
      "UPDATE " + std::string(table) + " SET state = ? WHERE " + std::string(key) + " = ?";
  std::vector<db::Param> params{to, std::string(id)};
  if (from) {
    sql += " AND state = ?";
    params.emplace_back(*from);
  }
  if (s.exec(sql, params).affected != 1) {
    if (from) return false;
    throw Error(Errc::not_found, "no " + std::string(table) + " row " + std::string(id));
  }
  append(s, id, event, peer, details);
  return true;
}

}  // namespace detail
}  // namespace ppi::ledger
