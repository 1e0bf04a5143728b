#include "obs/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "core/error.hpp"

namespace ppi::log {
namespace {

std::mutex g_mutex;
std::string g_actor = "ppi";
std::string g_identity;
std::atomic<Level> g_min_level{Level::info};

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

void append_value(std::string& line, std::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\\') needs_quotes = true;
  }
  if (!needs_quotes) {
    line.append(value);
    return;
  }
  line.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') line.push_back('\\');
    if (c == '\n') {
      line.append("\\n");
      continue;
    }
    line.push_back(c);
  }
  line.push_back('"');
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

}  // namespace

void set_actor(std::string_view actor) {
  std::lock_guard lock(g_mutex);
  g_actor = actor;
}

void set_identity(std::string_view identity) {
  std::lock_guard lock(g_mutex);
  g_identity = identity;
}

void set_min_level(Level level) {
  g_min_level = level;
}

Level parse_level(std::string_view name) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (level_name(l) == name) return l;
  }
  throw Error(Errc::config, "unknown log level '" + std::string(name) +
                                "' (expected debug, info, warn or error)");
}

namespace {

template <class Fields>
void write_line(Level level, std::string_view event, const Fields& fields) {
  if (level < g_min_level.load()) return;
  std::string line = "ts=" + timestamp() + " level=";
  line.append(level_name(level));
  std::lock_guard lock(g_mutex);
  line.append(" actor=").append(g_actor);
  if (!g_identity.empty()) {
    line.append(" identity=");
    append_value(line, g_identity);
  }
  line.append(" event=");
  append_value(line, event);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    line.append(key).push_back('=');
    append_value(line, value);
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  write_line(level, event, fields);
}

void write_fields(Level level, std::string_view event, const std::vector<Field>& fields) {
  write_line(level, event, fields);
}

}  // namespace ppi::log
