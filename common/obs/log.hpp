#pragma once
// Structured logging: one line per event, `ts=... level=... actor=... event=... key=value ...`.
// Values with spaces or quotes are quoted. Secrets (seeds, keys, shares) are never passed here.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ppi::log {

enum class Level { debug, info, warn, error };

// Set once at start-up by the executable; the actor name appears on every line, and the
// identity (its certificate's CN) after it when set, so that the lines of three dealers (or
// two model owners) can be told apart: `actor=dealer identity=dealer-2 event=...`.
void set_actor(std::string_view actor);
void set_identity(std::string_view identity);
void set_min_level(Level level);
Level parse_level(std::string_view name);  // throws Error(config) on an unknown name

using Field = std::pair<std::string_view, std::string>;
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
// The same for fields known only at run time (some present on some lines only).
void write_fields(Level level, std::string_view event, const std::vector<Field>& fields);

inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::error, event, fields);
}
inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::debug, event, fields);
}

}  // namespace ppi::log
