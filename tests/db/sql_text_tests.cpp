// The parts of ppi_db that need no server: urls, placeholders, the statement splitter, and the
// embedded migrations.

#include <set>

#include "db/sql_text.hpp"
#include "db_test_util.hpp"

namespace ppi::db {
namespace {

using testing::code_of;
using testing::error_of;

TEST_CASE("parse_db_url: both schemes, defaults, percent-decoding") {
  DbUrl u = parse_db_url("postgresql://alice:s%40cr%3Aet%2F@db.example:6543/ppi_dealer");
  CHECK(u.dialect == Dialect::postgresql);
  CHECK(u.user == "alice");
  CHECK(u.password == "s@cr:et/");
  CHECK(u.host == "db.example");
  CHECK(u.port == 6543);
  CHECK(u.database == "ppi_dealer");

  u = parse_db_url("mysql://bob@10.0.0.1/sd");
  CHECK(u.dialect == Dialect::mysql);
  CHECK(u.port == 3306);
  CHECK(u.password.empty());
  CHECK(parse_db_url("postgres://u:p@h/d").port == 5432);

  u = parse_db_url("mariadb://u:p@[::1]:3307/d");
  CHECK(u.host == "::1");
  CHECK(u.port == 3307);

  // An unencoded '@' or '/' in a password still parses: the host starts after the LAST '@'.
  u = parse_db_url("mysql://u:pa/ss@word@h:1/d");
  CHECK(u.password == "pa/ss@word");
  CHECK(u.host == "h");
  CHECK(u.socket.empty());

  u = parse_db_url("postgresql://u:p@localhost:5433/d?socket=%2Frun%2Fpostgresql");
  CHECK(u.socket == "/run/postgresql");
  CHECK(u.database == "d");
  CHECK(server_address(u) == "localhost:5433 via /run/postgresql");
  CHECK(parse_db_url("mysql://u:p@h/d?socket=/run/mysqld/mysqld.sock").socket ==
        "/run/mysqld/mysqld.sock");
}

TEST_CASE("parse_db_url: malformed urls are config errors that never show the password") {
  const char* bad[] = {
      "",
      "localhost:5432/db",
      "oracle://u:hunter2@h/d",
      "postgresql://h:5432/d",             // no user
      "postgresql://u:hunter2@h:port/d",   // port not a number
      "postgresql://u:hunter2@h:70000/d",  // port out of range
      "postgresql://u:hunter2@h:5432",     // no database
      "postgresql://u:hunter2@h:5432/",    // empty database
      "postgresql://u:hunter2@:5432/d",    // no host
      "postgresql://u:hunter2@h/d?ssl=1",  // query
      "postgresql://u:hunter2@h/d?socket=relative/dir",
      "postgresql://u:hunter2@h/d?socket=/s&ssl=1",
      "postgresql://u:hunter2@h/d?socket=",
      "postgresql://u:hunter2%zz@h/d",  // bad percent-encoding
      "mysql://u:hunter2@[::1/d",       // unterminated [
      "u:hunter2@h/d",                  // no scheme
  };
  for (const std::string url : bad) {
    CAPTURE(url);
    const auto e = error_of([&] { parse_db_url(url); });
    REQUIRE(e);
    CHECK(e->code() == Errc::config);
    CHECK(std::string(e->what()).find("hunter2") == std::string::npos);
  }
  // Database::open rejects it the same way, before any connection.
  CHECK(code_of([] { Database::open({.url = "postgresql://u:hunter2@h:x/d"}); }) == Errc::config);
}

TEST_CASE("redact_url hides only the password") {
  CHECK(redact_url("postgresql://u:secret@h:1/d") == "postgresql://u:***@h:1/d");
  CHECK(redact_url("mysql://u@h/d") == "mysql://u@h/d");
  CHECK(redact_url("mysql://u:a@b@h/d") == "mysql://u:***@h/d");
  CHECK(redact_url("u:secret@h/d") == "***@h/d");
}

TEST_CASE("placeholders outside quotes and comments become $n") {
  using detail::count_placeholders;
  using detail::to_dollar_placeholders;
  CHECK(to_dollar_placeholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") ==
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  const std::string tricky =
      "SELECT '?', 'it''s ?', \"col?\", `q?` -- why?\n, /* ? */ ?, $$ ? $$, $tag$ ? $tag$ , ?";
  CHECK(to_dollar_placeholders(tricky) ==
        "SELECT '?', 'it''s ?', \"col?\", `q?` -- why?\n, /* ? */ $1, $$ ? $$, $tag$ ? $tag$ , $2");
  CHECK(count_placeholders(tricky) == 2);
  CHECK(count_placeholders("SELECT 1") == 0);
}

TEST_CASE("split_sql splits at ';' outside quotes and comments") {
  const auto parts = split_sql(
      "-- header; not a statement\n"
      "CREATE TABLE a (x TEXT DEFAULT 'a;b');\n"
      "/* block; comment */\n"
      "INSERT INTO a VALUES ('it''s; fine');;\n"
      "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
      "  -- only a comment ;\n"
      "SELECT 2  ");
  REQUIRE(parts.size() == 4);
  CHECK(parts[0] == "-- header; not a statement\nCREATE TABLE a (x TEXT DEFAULT 'a;b')");
  CHECK(parts[1] == "/* block; comment */\nINSERT INTO a VALUES ('it''s; fine')");
  CHECK(parts[2] == "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql");
  CHECK(parts[3] == "-- only a comment ;\nSELECT 2");
  CHECK(split_sql("  \n-- nothing\n ; ;").empty());
}

TEST_CASE("identifiers for chunk tables") {
  CHECK(detail::is_identifier("batch_chunks"));
  CHECK(detail::is_identifier("_x9"));
  CHECK_FALSE(detail::is_identifier(""));
  CHECK_FALSE(detail::is_identifier("9x"));
  CHECK_FALSE(detail::is_identifier("Batch"));
  CHECK_FALSE(detail::is_identifier("t; DROP TABLE x"));
  CHECK_FALSE(detail::is_identifier(std::string(64, 'a')));
}

TEST_CASE("embedded migrations: every actor, both dialects, the same versions") {
  for (const std::string actor : {"super_dealer", "dealer", "model_owner", "client", "test"}) {
    CAPTURE(actor);
    const auto pg = migrations_for(Dialect::postgresql, actor);
    const auto my = migrations_for(Dialect::mysql, actor);
    REQUIRE(pg.size() == my.size());
    REQUIRE_FALSE(pg.empty());
    for (std::size_t i = 0; i < pg.size(); ++i) {
      CHECK(pg[i].version == my[i].version);
      CHECK(pg[i].name == my[i].name);
      CHECK(pg[i].version == static_cast<int>(i + 1));  // 001, 002, ... without gaps
      CHECK_FALSE(split_sql(pg[i].sql).empty());
      CHECK(pg[i].checksum().size() == 64);
    }
  }
  CHECK(code_of([] { migrations_for(Dialect::postgresql, "nobody"); }) == Errc::invalid_argument);
}

}  // namespace
}  // namespace ppi::db
