#include "ledger/event.hpp"

#include <cstdio>
#include <ctime>

#include "core/error.hpp"

namespace ppi::ledger {

std::string_view event_name(Event e) {
  return kEventNames.at(static_cast<std::size_t>(e));
}

Event parse_event(std::string_view name) {
  for (std::size_t i = 0; i < kEventNames.size(); ++i) {
    if (kEventNames[i] == name) return static_cast<Event>(i);
  }
  throw Error(Errc::invalid_argument, "unknown audit event '" + std::string(name) + "'");
}

std::string rfc3339_ms(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::int64_t parse_rfc3339_ms(std::string_view text) {
  const auto bad = [&] {
    return Error(Errc::invalid_argument, "'" + std::string(text) +
                                             "' is not an RFC 3339 time such as "
                                             "2026-12-02T07:45:12Z");
  };
  int y, mo, d, h, mi, sec, consumed = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) !=
          6 ||
      consumed != 19) {
    throw bad();
  }
  std::size_t i = 19;
  std::int64_t ms = 0;
  if (i < t.size() && t[i] == '.') {
    int digits = 0;
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (t[i] - '0');
    }
    if (digits == 0) throw bad();
    for (; digits < 3; ++digits) ms *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z') && i + 1 == t.size()) {
    // UTC
  } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(t.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) throw bad();
    offset_s = (t[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    throw bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) throw bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - offset_s;
  return secs * 1000 + ms;
}

nlohmann::json to_json(const AuditRecord& r) {
  return {{"id", r.id},          {"batch_id", r.batch_id}, {"event", event_name(r.event)},
          {"actor", r.actor},    {"peer", r.peer},         {"at", rfc3339_ms(r.at_ms)},
          {"details", r.details}};
}

AuditRecord record_from_json(const nlohmann::json& j) {
  const auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(name)) {
      throw Error(Errc::invalid_argument, std::string("audit event without '") + name + "'");
    }
    return j.at(name);
  };
  try {
    AuditRecord r;
    r.id = field("id").get<std::int64_t>();
    r.batch_id = field("batch_id").get<std::string>();
    r.event = parse_event(field("event").get<std::string>());
    r.actor = field("actor").get<std::string>();
    r.peer = field("peer").get<std::string>();
    r.at_ms = parse_rfc3339_ms(field("at").get<std::string>());
    r.details = field("details");
    if (!r.details.is_object()) throw Error(Errc::invalid_argument, "details is not an object");
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::invalid_argument, std::string("malformed audit event: ") + e.what());
  }
}

}  // namespace ppi::ledger
