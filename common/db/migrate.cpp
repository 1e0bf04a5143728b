#include "db/migrate.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>

#include "db/embedded_schema.hpp"
#include "db/sql_text.hpp"

namespace ppi::db {

std::string Migration::checksum() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(sql.data(), sql.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw Error(Errc::crypto, "SHA-256 of a migration failed");
  }
  return to_hex(ByteView(md, len));
}

std::vector<Migration> migrations_for(Dialect dialect, std::string_view actor) {
  const std::string prefix = std::string(dialect_name(dialect)) + "/" + std::string(actor) + "/";
  std::vector<Migration> out;
  for (const auto& f : detail::embedded_schema()) {
    if (!f.path.starts_with(prefix)) continue;
    const std::string_view file = f.path.substr(prefix.size());
    const std::size_t digits = file.find_first_not_of("0123456789");
    if (file.find('/') != std::string_view::npos || digits == 0 ||
        digits == std::string_view::npos || file[digits] != '_' || !file.ends_with(".sql")) {
      throw Error(Errc::internal,
                  "db_schema/" + std::string(f.path) + ": a migration is named NNN_name.sql");
    }
    Migration m;
    m.version = std::stoi(std::string(file.substr(0, digits)));
    m.name = std::string(file.substr(0, file.size() - 4));
    m.sql = std::string(f.contents);
    out.push_back(std::move(m));
  }
  if (out.empty()) {
    throw Error(Errc::invalid_argument, "no " + std::string(dialect_name(dialect)) +
                                            " migrations for actor '" + std::string(actor) + "'");
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      throw Error(Errc::internal, "two migrations with version " + std::to_string(out[i].version) +
                                      " for actor '" + std::string(actor) + "'");
    }
  }
  return out;
}

std::vector<std::string> split_sql(std::string_view script) {
  std::vector<std::string> out;
  std::size_t start = 0;
  bool has_code = false;  // a statement made only of comments is not one
  auto flush = [&](std::size_t end) {
    std::string_view s = script.substr(start, end - start);
    const auto first = s.find_first_not_of(" \t\r\n");
    if (has_code && first != std::string_view::npos) {
      s = s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
      out.emplace_back(s);
    }
    has_code = false;
  };
  for (std::size_t i = 0; i < script.size();) {
    const std::size_t j = detail::skip_quoted(script, i);
    if (j != i) {
      const char c = script[i];
      if (c != '-' && c != '/') has_code = true;  // quotes are code, comments are not
      i = j;
      continue;
    }
    if (script[i] == ';') {
      flush(i);
      start = ++i;
      continue;
    }
    if (script[i] != ' ' && script[i] != '\t' && script[i] != '\r' && script[i] != '\n') {
      has_code = true;
    }
    ++i;
  }
  flush(script.size());
  return out;
}

namespace {

// pg_advisory_lock key: "ppi_migr" (advisory locks are per database already).
constexpr std::int64_t kPgLockKey = 0x7070695f6d696772;
constexpr std::int64_t kMysqlLockWaitSeconds = 300;

// Holds the migration lock of the session's database for its lifetime.
class MigrationLock {
 public:
  explicit MigrationLock(Session& s) : s_(s) {
    if (s_.dialect() == Dialect::postgresql) {
      s_.exec("SELECT pg_advisory_lock(?)", {kPgLockKey});
    } else {
      // GET_LOCK is server-wide: name it after the database.
      const Result r = s_.exec("SELECT GET_LOCK(CONCAT('ppi_migrate.', DATABASE()), ?)",
                               {kMysqlLockWaitSeconds});
      if (r.rows.empty() || r.rows[0].is_null(0) || r.rows[0].get_int(0) != 1) {
        throw Error(Errc::unavailable, "mysql: timed out waiting for the migration lock");
      }
    }
  }
  ~MigrationLock() {
    try {
      if (s_.dialect() == Dialect::postgresql) {
        s_.exec("SELECT pg_advisory_unlock(?)", {kPgLockKey});
      } else {
        s_.exec("SELECT RELEASE_LOCK(CONCAT('ppi_migrate.', DATABASE()))");
      }
    } catch (...) {
      // A broken connection is dropped, and the server releases its locks with it.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  Session& s_;
};

constexpr const char* kPgTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum CHAR(64) NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
constexpr const char* kMysqlTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT PRIMARY KEY, name VARCHAR(255) NOT NULL,"
    " checksum CHAR(64) CHARACTER SET ascii NOT NULL,"
    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

}  // namespace

int migrate(Database& db, std::string_view actor) {
  return migrate(db, actor, migrations_for(db.dialect(), actor));
}

int migrate(Database& db, std::string_view actor, const std::vector<Migration>& migrations) {
  Session s = db.acquire();
  const bool pg = s.dialect() == Dialect::postgresql;
  const std::string who = std::string(actor) + " (" + std::string(dialect_name(s.dialect())) + ")";
  MigrationLock lock(s);
  s.exec_ddl(pg ? kPgTable : kMysqlTable);

  std::map<int, std::pair<std::string, std::string>> applied;  // version -> name, checksum
  for (const Row& r : s.exec("SELECT version, name, checksum FROM schema_migrations").rows) {
    applied[static_cast<int>(r.get_int(0))] = {r.get_string(1), r.get_string(2)};
  }
  // Check everything before changing anything.
  for (const auto& [version, rec] : applied) {
    const auto it = std::find_if(migrations.begin(), migrations.end(),
                                 [&](const Migration& m) { return m.version == version; });
    if (it == migrations.end()) {
      throw Error(Errc::database, "database of " + who + " has migration " + rec.first +
                                      " that this program does not know: it is newer than the "
                                      "program");
    }
    if (it->checksum() != rec.second) {
      throw Error(Errc::database, "migration " + it->name + " of " + who +
                                      " was changed after it was applied (checksum " +
                                      rec.second.substr(0, 12) + "... in the database, " +
                                      it->checksum().substr(0, 12) + "... embedded)");
    }
  }

  int count = 0;
  for (const Migration& m : migrations) {
    if (applied.contains(m.version)) continue;
    try {
      // PostgreSQL DDL is transactional: a migration applies entirely or not at all.
      std::optional<Transaction> tx;
      if (pg) tx.emplace(s);
      for (const std::string& stmt : split_sql(m.sql)) s.exec_ddl(stmt);
      s.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
             {std::int64_t{m.version}, m.name, m.checksum()});
      if (tx) tx->commit();
    } catch (const Error& e) {
      throw Error(e.code(), "migration " + m.name + " of " + who + " failed: " + e.what());
    }
    ++count;
  }
  return count;
}

}  // namespace ppi::db
