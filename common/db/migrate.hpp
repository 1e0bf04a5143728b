#pragma once
// Schema migrations: db_schema/<dialect>/<actor>/NNN_name.sql, embedded into the library at
// build time so that executables need no files at run time.

#include <string>
#include <string_view>
#include <vector>

#include "db/database.hpp"

namespace ppi::db {

struct Migration {
  int version = 0;               // NNN
  std::string name;              // "NNN_name"
  std::string sql;               // the file's contents
  std::string checksum() const;  // SHA-256 of sql, hex
};

// The embedded migrations of an actor ("super_dealer", "dealer", "model_owner", "client", or
// "test") in version order. Throws Error(invalid_argument) for an actor that has none.
std::vector<Migration> migrations_for(Dialect dialect, std::string_view actor);

// Applies, in version order, the migrations not yet recorded in schema_migrations(version,
// name, checksum, applied_at), each recorded as it is applied (on PostgreSQL in the same
// transaction as its statements; MySQL DDL is not transactional, so those files are written to
// be re-runnable). Holds an advisory lock (pg_advisory_lock / GET_LOCK) meanwhile, so two
// processes starting together do not race. Throws Error(database) when an applied migration's
// checksum differs from the embedded one, or when the database holds a version this program
// does not know. Returns the number of migrations applied (0 when up to date).
int migrate(Database& db, std::string_view actor);
int migrate(Database& db, std::string_view actor, const std::vector<Migration>& migrations);

// Splits a script into statements at ';' outside quotes and comments; drops empty ones.
std::vector<std::string> split_sql(std::string_view script);

}  // namespace ppi::db
