#include "super_dealer/audit_collect.hpp"

#include <chrono>
#include <set>
#include <sstream>

#include "app/actor.hpp"
#include "ledger/ledger.hpp"
#include "net/json_call.hpp"
#include "super_dealer/dealer_calls.hpp"

namespace ppi::super_dealer {
namespace {

constexpr std::int64_t kPage = 10000;

std::string events_path(const std::optional<std::string>& batch_id,
                        const std::optional<std::int64_t>& since_ms, std::int64_t after_id) {
  std::string path =
      "/v1/audit/events?limit=" + std::to_string(kPage) + "&after_id=" + std::to_string(after_id);
  if (batch_id) path += "&batch_id=" + *batch_id;
  // RFC 3339 "...Z" holds no character a query needs escaped.
  if (since_ms) path += "&since=" + ledger::rfc3339_ms(*since_ms);
  return path;
}

// All pages of one actor's events for (batch, since), from `fetch(path)`.
template <typename Fetch>
std::vector<ledger::AuditRecord> fetch_all(const Fetch& fetch,
                                           const std::optional<std::string>& batch_id,
                                           const std::optional<std::int64_t>& since_ms) {
  std::vector<ledger::AuditRecord> out;
  std::int64_t after = 0;
  for (;;) {
    const nlohmann::json page = fetch(events_path(batch_id, since_ms, after));
    const auto& events = page.at("events");
    for (const auto& e : events) out.push_back(ledger::record_from_json(e));
    if (page.at("complete").get<bool>() || events.empty()) return out;
    after = out.back().id;
  }
}

std::vector<ledger::AuditRecord> local_all(db::Database& db,
                                           const std::optional<std::string>& batch_id,
                                           const std::optional<std::int64_t>& since_ms) {
  auto s = db.acquire();
  std::vector<ledger::AuditRecord> out;
  ledger::Query q;
  q.batch_id = batch_id;
  q.since_ms = since_ms;
  q.limit = kPage;
  for (;;) {
    auto page = ledger::read(s, q);
    out.insert(out.end(), page.begin(), page.end());
    if (static_cast<std::int64_t>(page.size()) < kPage) return out;
    q.after_id = out.back().id;
  }
}

// One actor's events in scope. With `since`, the batches that have an event since then are
// audited whole: their earlier events are fetched too, so a check never sees half a history.
template <typename Fetch>
std::vector<ledger::AuditRecord> in_scope(const Fetch& fetch_events, const AuditScope& scope,
                                          const std::set<std::string>& batches) {
  if (!scope.since_ms) return fetch_events(scope.batch_id, std::nullopt);
  std::vector<ledger::AuditRecord> out;
  for (const auto& b : batches) {
    auto mine = fetch_events(b, std::nullopt);
    out.insert(out.end(), mine.begin(), mine.end());
  }
  return out;
}

}  // namespace

std::vector<ModelOwnerEndpoint> parse_model_owners(const std::string& text) {
  std::vector<ModelOwnerEndpoint> out;
  std::stringstream in(text);
  for (std::string entry; std::getline(in, entry, ',');) {
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || entry.compare(eq + 1, 8, "https://") != 0) {
      throw Error(Errc::config,
                  "config audit.model_owners: '" + entry + "' is not IDENTITY=https://host:port");
    }
    out.push_back({entry.substr(0, eq), entry.substr(eq + 1)});
  }
  return out;
}

std::vector<config::KeySpec> audit_keys() {
  return {
      config::string_key("audit.model_owners", "",
                         "model owners whose ledgers the audit collects: "
                         "IDENTITY=https://host:port,... (their REST URLs)"),
      config::integer_key("batch.retention_seconds", 3600, 0, 365 * 24 * 3600,
                          "the audit flags an actor that still held a finished batch's "
                          "material this long after it finished"),
  };
}

AuditSources audit_sources(const config::Config& cfg, std::shared_ptr<db::Database> db) {
  AuditSources s;
  s.db = std::move(db);
  s.identity = ledger::actor_identity();
  s.dealers = RegistryStore(s.db).dealers();
  s.model_owners = parse_model_owners(cfg.get_string("audit.model_owners"));
  s.rest.tls = app::tls_options(cfg);
  s.rest.timeout = std::chrono::seconds(15);
  return s;
}

std::vector<ActorLedger> collect_ledgers(const AuditSources& sources, const AuditScope& scope) {
  using net::http::verb;
  struct Remote {
    ActorKind kind;
    std::string identity;
    std::function<nlohmann::json(const std::string&)> get;
  };
  std::vector<Remote> remotes;
  for (const auto& d : sources.dealers) {
    remotes.push_back({ActorKind::dealer, d.dealer_id, [&sources, d](const std::string& path) {
                         return call_dealer(sources.rest, d, verb::get, path);
                       }});
  }
  for (const auto& m : sources.model_owners) {
    remotes.push_back({ActorKind::model_owner, m.identity, [&sources, m](const std::string& path) {
                         return net::call_json(sources.rest.to(m.identity), verb::get,
                                               m.rest_url + path);
                       }});
  }
  const auto local = [&](const std::optional<std::string>& b,
                         const std::optional<std::int64_t>& since) {
    return local_all(*sources.db, b, since);
  };
  std::vector<ActorLedger> out(1 + remotes.size());
  // The batches in scope of a `since` audit: those with an event since then on any actor.
  std::set<std::string> batches;
  if (scope.since_ms) {
    for (const auto& e : local(std::nullopt, scope.since_ms)) batches.insert(e.batch_id);
    for (std::size_t i = 0; i < remotes.size(); ++i) {
      try {
        for (const auto& e : fetch_all(remotes[i].get, std::nullopt, scope.since_ms)) {
          batches.insert(e.batch_id);
        }
      } catch (const std::exception& e) {
        out[1 + i].error = e.what();
      }
    }
  }
  out[0] = {ActorKind::super_dealer, sources.identity, in_scope(local, scope, batches), {}};
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    ActorLedger& l = out[1 + i];
    l.kind = remotes[i].kind;
    l.identity = remotes[i].identity;
    if (l.error) continue;
    try {
      const auto& get = remotes[i].get;
      l.events = in_scope(
          [&](const std::optional<std::string>& b, const std::optional<std::int64_t>& since) {
            return fetch_all(get, b, since);
          },
          scope, batches);
    } catch (const std::exception& e) {
      l.error = e.what();
    }
  }
  return out;
}

AuditReport run_audit(const AuditSources& sources, const AuditScope& scope,
                      std::int64_t retention_seconds) {
  AuditSettings settings;
  settings.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  settings.retention_seconds = retention_seconds;
  return check_ledgers(collect_ledgers(sources, scope), settings);
}

}  // namespace ppi::super_dealer
