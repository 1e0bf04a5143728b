#include "super_dealer/audit.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace ppi::super_dealer {
namespace {

using ledger::AuditRecord;
using ledger::Event;
using Events = std::vector<const AuditRecord*>;

// A conversion or a binding still being told is not a violation: the dealers' records of it
// come before the super dealer's or the model owner's by design.
constexpr std::int64_t kSettleMs = 120'000;

std::string detail(const AuditRecord& r, const char* key) {
  const auto it = r.details.find(key);
  return it != r.details.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Events with(const Events& events, Event e) {
  Events out;
  for (const auto* r : events) {
    if (r->event == e) out.push_back(r);
  }
  return out;
}

std::vector<std::int64_t> ids(const Events& events) {
  std::vector<std::int64_t> out;
  for (const auto* r : events) out.push_back(r->id);
  return out;
}

bool finishes(Event e) {
  return e == Event::consumed || e == Event::expired || e == Event::failed;
}
bool releases(Event e) {
  return e == Event::shares_released || e == Event::shares_delivered || e == Event::seeds_released;
}

std::vector<std::string> split_group(const std::string& group) {
  std::vector<std::string> out;
  std::stringstream in(group);
  for (std::string id; std::getline(in, id, ',');) {
    if (!id.empty()) out.push_back(id);
  }
  return out;
}

class Checker {
 public:
  Checker(const std::vector<ActorLedger>& ledgers, const AuditSettings& settings)
      : settings_(settings) {
    for (const auto& l : ledgers) {
      kinds_[l.identity] = l.kind;
      if (l.error) {
        report_.violations.push_back({"actor_unreachable",
                                      "",
                                      l.identity,
                                      "its events could not be collected: " + *l.error,
                                      {}});
        unreachable_.insert(l.identity);
        continue;
      }
      for (const auto& e : l.events) by_batch_[e.batch_id][l.identity].push_back(&e);
    }
  }

  AuditReport run() {
    for (const auto& [batch_id, actors] : by_batch_) check_batch(batch_id, actors);
    return std::move(report_);
  }

 private:
  void flag(const char* check, const std::string& batch, const std::string& actor,
            std::string message, std::vector<std::int64_t> rows = {}) {
    report_.violations.push_back({check, batch, actor, std::move(message), std::move(rows)});
  }

  // Whether `identity`'s ledger was collected, so that the absence of an event means something.
  bool audited(const std::string& identity, ActorKind kind) {
    const auto it = kinds_.find(identity);
    if (it != kinds_.end() && it->second == kind) return !unreachable_.count(identity);
    if (kind == ActorKind::model_owner && missing_owners_.insert(identity).second) {
      flag("actor_unreachable", "", identity,
           "the model owner is not among the audited actors (super dealer key "
           "audit.model_owners)");
    }
    return false;
  }

  void check_batch(const std::string& batch_id, const std::map<std::string, Events>& actors) {
    BatchAudit audit;
    audit.batch_id = batch_id;
    const AuditRecord* binding = nullptr;  // the super dealer's
    bool sd_failed = false;
    for (const auto& [actor, events] : actors) {
      for (const auto* e : events) audit.events[actor].emplace_back(ledger::event_name(e->event));
      if (kinds_.at(actor) != ActorKind::super_dealer) continue;
      const auto bound = with(events, Event::bound);
      if (!bound.empty()) binding = bound.front();
      sd_failed = sd_failed || !with(events, Event::failed).empty();
    }
    if (binding) {
      audit.model_owner = detail(*binding, "model_owner");
      audit.client = detail(*binding, "client");
      audit.group = detail(*binding, "group");
      audit.kind = detail(*binding, "kind");
    }
    for (const auto& [actor, events] : actors) check_actor(audit, actor, events);
    if (binding && !sd_failed) check_group(audit, *binding, actors);
    report_.batches.push_back(std::move(audit));
  }

  // What one actor's own records show.
  void check_actor(const BatchAudit& audit, const std::string& actor, const Events& events) {
    const std::string& b = audit.batch_id;
    const ActorKind kind = kinds_.at(actor);
    if (const auto bound = with(events, Event::bound); bound.size() > 1) {
      flag("bound_once", b, actor, "bound " + std::to_string(bound.size()) + " times", ids(bound));
    }
    if (kind == ActorKind::dealer) check_dealer(audit, actor, events);
    check_retention(b, actor, kind, events);
  }

  void check_dealer(const BatchAudit& audit, const std::string& actor, const Events& events) {
    const std::string& b = audit.batch_id;
    for (Event e : {Event::seeds_released, Event::shares_delivered}) {
      if (const auto twice = with(events, e); twice.size() > 1) {
        flag("released_once", b, actor,
             std::string(ledger::event_name(e)) + " " + std::to_string(twice.size()) + " times",
             ids(twice));
      }
    }
    const auto bound = with(events, Event::bound);
    std::string owner = audit.model_owner, client = audit.client;
    std::int64_t expires_ms = 0;
    if (!bound.empty()) {
      const AuditRecord& mine = *bound.front();
      if (!audit.model_owner.empty() && (detail(mine, "model_owner") != audit.model_owner ||
                                         detail(mine, "client") != audit.client)) {
        flag("binding_matches", b, actor,
             "bound to model owner '" + detail(mine, "model_owner") + "' and client '" +
                 detail(mine, "client") + "', the super dealer bound it to '" + audit.model_owner +
                 "' and '" + audit.client + "'",
             {mine.id});
      }
      if (owner.empty()) owner = detail(mine, "model_owner");
      if (client.empty()) client = detail(mine, "client");
      if (const auto it = mine.details.find("expires_at_unix");
          it != mine.details.end() && it->is_number_integer()) {
        expires_ms = it->get<std::int64_t>() * 1000;
      }
    }
    const AuditRecord* finished = nullptr;
    for (const auto* r : events) {
      if (r->event == Event::shares_released || r->event == Event::shares_delivered) {
        if (r->peer != owner) {
          flag("shares_to_owner", b, actor,
               "shares went to '" + r->peer + "', not to the bound model owner '" + owner + "'",
               {r->id});
        }
      } else if (r->event == Event::seeds_released && r->peer != client) {
        flag("seeds_to_client", b, actor,
             "seeds went to '" + r->peer + "', not to the bound client '" + client + "'", {r->id});
      }
      if (releases(r->event)) {
        if (expires_ms > 0 && r->at_ms > expires_ms) {
          flag("nothing_after_expiry", b, actor,
               std::string(ledger::event_name(r->event)) + " at " + ledger::rfc3339_ms(r->at_ms) +
                   ", after the batch expired at " + ledger::rfc3339_ms(expires_ms),
               {r->id});
        } else if (finished) {
          flag("nothing_after_expiry", b, actor,
               std::string(ledger::event_name(r->event)) + " after the batch was " +
                   std::string(ledger::event_name(finished->event)),
               {finished->id, r->id});
        }
      }
      if (!finished && finishes(r->event)) finished = r;
    }
  }

  void check_retention(const std::string& b, const std::string& actor, ActorKind kind,
                       const Events& events) {
    const bool held =
        kind == ActorKind::dealer
            ? !with(events, Event::prepared).empty() || !with(events, Event::available).empty()
            : kind == ActorKind::model_owner && !with(events, Event::converted).empty();
    if (!held) return;
    const AuditRecord* finished = nullptr;
    for (const auto* r : events) {
      if (finishes(r->event)) {
        finished = r;
        break;
      }
    }
    if (!finished || finished->at_ms > settings_.now_ms - settings_.retention_seconds * 1000)
      return;
    const bool deleted = std::any_of(events.begin(), events.end(), [&](const AuditRecord* r) {
      return r->event == Event::material_deleted && r->id > finished->id;
    });
    if (!deleted) {
      flag("retention", b, actor,
           "finished (" + std::string(ledger::event_name(finished->event)) + ") at " +
               ledger::rfc3339_ms(finished->at_ms) + " but its material was never deleted",
           {finished->id});
    }
  }

  // What the super dealer's binding requires of the group and the model owner.
  void check_group(const BatchAudit& audit, const AuditRecord& binding,
                   const std::map<std::string, Events>& actors) {
    const std::string& b = audit.batch_id;
    const bool settled = binding.at_ms < settings_.now_ms - kSettleMs;
    const auto events_of = [&](const std::string& id) {
      const auto it = actors.find(id);
      return it == actors.end() ? Events{} : it->second;
    };
    const Events owner_events = events_of(audit.model_owner);
    const bool owner_audited = audited(audit.model_owner, ActorKind::model_owner);
    const bool converted = !with(owner_events, Event::converted).empty();
    const bool consumed = !with(owner_events, Event::consumed).empty();
    bool all_delivered = true;
    const AuditRecord* last_delivery = nullptr;
    for (const std::string& dealer : split_group(audit.group)) {
      if (!audited(dealer, ActorKind::dealer)) {
        all_delivered = false;
        continue;
      }
      const Events mine = events_of(dealer);
      if (with(mine, Event::bound).empty() && settled) {
        flag("bound_on_every_dealer", b, dealer,
             "the super dealer bound it (event " + std::to_string(binding.id) +
                 ") but this dealer has no record of the binding");
      }
      const auto delivered = with(mine, Event::shares_delivered);
      if (delivered.empty()) {
        all_delivered = false;
        if (converted) {
          flag("every_dealer_released", b, dealer,
               "the model owner converted it but this dealer never delivered its shares");
        }
      } else if (!last_delivery || delivered.back()->at_ms > last_delivery->at_ms) {
        last_delivery = delivered.back();
      }
      if (consumed && audit.kind != "mask_set" && with(mine, Event::seeds_released).empty()) {
        flag("every_dealer_released", b, dealer,
             "the model owner consumed it but this dealer never released its seeds");
      }
    }
    if (!owner_audited) return;
    if (all_delivered && last_delivery && !converted && with(owner_events, Event::failed).empty() &&
        last_delivery->at_ms < settings_.now_ms - kSettleMs) {
      flag("conversion_recorded", b, audit.model_owner,
           "every dealer delivered its shares but the model owner recorded no conversion");
    }
    if (consumed && with(owner_events, Event::online_started).empty()) {
      flag("conversion_recorded", b, audit.model_owner, "consumed without an online phase recorded",
           ids(with(owner_events, Event::consumed)));
    }
  }

  AuditSettings settings_;
  AuditReport report_;
  std::map<std::string, ActorKind> kinds_;
  std::set<std::string> unreachable_, missing_owners_;
  std::map<std::string, std::map<std::string, Events>> by_batch_;
};

}  // namespace

AuditReport check_ledgers(const std::vector<ActorLedger>& ledgers, const AuditSettings& settings) {
  return Checker(ledgers, settings).run();
}

nlohmann::json report_json(const AuditReport& report) {
  nlohmann::json batches = nlohmann::json::array(), violations = nlohmann::json::array();
  for (const auto& b : report.batches) {
    batches.push_back({{"batch_id", b.batch_id},
                       {"kind", b.kind},
                       {"model_owner", b.model_owner},
                       {"client", b.client},
                       {"group", b.group},
                       {"events", b.events}});
  }
  for (const auto& v : report.violations) {
    violations.push_back({{"check", v.check},
                          {"batch_id", v.batch_id},
                          {"actor", v.actor},
                          {"message", v.message},
                          {"rows", v.rows}});
  }
  return {{"clean", report.clean()},
          {"batches", std::move(batches)},
          {"violations", std::move(violations)}};
}

std::string report_table(const AuditReport& report) {
  const auto pad = [](const std::string& text, std::size_t width) {
    return text + std::string(text.size() + 2 > width ? 2 : width - text.size(), ' ');
  };
  std::ostringstream out;
  out << pad("BATCH", 38) << pad("KIND", 10) << pad("MODEL OWNER", 14) << pad("CLIENT", 14)
      << "EVENTS\n";
  for (const auto& b : report.batches) {
    out << pad(b.batch_id, 38) << pad(b.kind.empty() ? "?" : b.kind, 10)
        << pad(b.model_owner.empty() ? "?" : b.model_owner, 14)
        << pad(b.client.empty() ? "-" : b.client, 14);
    bool first = true;
    for (const auto& [actor, events] : b.events) {
      out << (first ? "" : "; ") << actor << ":";
      for (std::size_t i = 0; i < events.size(); ++i) out << (i ? "," : "") << events[i];
      first = false;
    }
    out << "\n";
  }
  out << report.batches.size() << " batches, " << report.violations.size() << " violations\n";
  for (const auto& v : report.violations) {
    out << "VIOLATION " << v.check << " batch=" << (v.batch_id.empty() ? "-" : v.batch_id)
        << " actor=" << v.actor << " rows=[";
    for (std::size_t i = 0; i < v.rows.size(); ++i) out << (i ? "," : "") << v.rows[i];
    out << "] " << v.message << "\n";
  }
  return out.str();
}

}  // namespace ppi::super_dealer
