#pragma once
// Shared by the db suites: the two backends as doctest template types, fresh databases, and
// a helper that captures the ppi::Error a call throws.

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>

#include "db/database.hpp"
#include "db/migrate.hpp"
#include "db_servers.hpp"

namespace ppi::db::testing {

struct Postgres {
  static constexpr Dialect dialect = Dialect::postgresql;
};
struct MariaDb {
  static constexpr Dialect dialect = Dialect::mysql;
};

inline test::DbServer& server(Dialect d) {
  return test::test_databases().server(d);
}

// A fresh database on the backend, with the "test" migrations applied unless migrated = false.
inline std::shared_ptr<Database> fresh_db(Dialect d, bool migrated = true, DbConfig cfg = {}) {
  cfg.url = server(d).create_database("db_tests");
  auto db = Database::open(cfg);
  if (migrated) migrate(*db, "test");
  return db;
}

// The Error that f throws; fails the test (and returns nullopt) if it throws nothing.
inline std::optional<Error> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL_CHECK("expected a ppi::Error, got none");
  return std::nullopt;
}

inline Errc code_of(const std::function<void()>& f) {
  const auto e = error_of(f);
  return e ? e->code() : Errc::internal;
}

inline std::int64_t count_rows(Session& s, const std::string& table) {
  return s.exec("SELECT COUNT(*) FROM " + table).rows.at(0).get_int(0);
}

}  // namespace ppi::db::testing

TYPE_TO_STRING_AS("postgresql", ppi::db::testing::Postgres);
TYPE_TO_STRING_AS("mariadb", ppi::db::testing::MariaDb);

// doctest prints Errc values in CHECK_EQ failures by name.
namespace doctest {
template <>
struct StringMaker<ppi::Errc> {
  static String convert(ppi::Errc e) { return std::string(ppi::errc_name(e)).c_str(); }
};
}  // namespace doctest
