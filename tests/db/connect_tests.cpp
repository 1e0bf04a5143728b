// Connecting and pooling, against both backends: one clear error per kind of start-up
// failure, a bounded pool, and broken connections replaced.

#include <chrono>
#include <filesystem>
#include <thread>

#include "db_test_util.hpp"

namespace ppi::db {
namespace {

using namespace std::chrono_literals;
using testing::code_of;
using testing::error_of;
using testing::fresh_db;
using testing::MariaDb;
using testing::Postgres;
using testing::server;

#define PPI_BACKENDS Postgres, MariaDb

bool contains(const Error& e, std::string_view s) {
  return std::string_view(e.what()).find(s) != std::string_view::npos;
}

TEST_CASE_TEMPLATE("start-up failures give one clear error each", B, PPI_BACKENDS) {
  const std::string url = server(B::dialect).create_database("connect");
  auto db = Database::open({.url = url});
  CHECK(db->dialect() == B::dialect);
  db->ping();

  SUBCASE("wrong password -> unauthenticated, and the password is not echoed") {
    const auto e = error_of(
        [&] { Database::open({.url = test::DbServer::url_with_password(url, "Wr0ngPassw0rd")}); });
    REQUIRE(e);
    CHECK(e->code() == Errc::unauthenticated);
    CHECK_FALSE(contains(*e, "Wr0ngPassw0rd"));
  }
  SUBCASE("closed port -> unavailable, naming host:port") {
    const std::uint16_t port = test::free_port();
    const std::string closed = std::string(dialect_name(B::dialect)) +
                               "://u:Secret123@127.0.0.1:" + std::to_string(port) + "/db";
    const auto e = error_of([&] { Database::open({.url = closed}); });
    REQUIRE(e);
    CHECK(e->code() == Errc::unavailable);
    CHECK(contains(*e, "127.0.0.1:" + std::to_string(port)));
    CHECK_FALSE(contains(*e, "Secret123"));
    // What a peer is told names no host, port or database (issue 15 item 5).
    CHECK(e->detail_withheld());
    CHECK(std::string(e->served()) == "database unavailable; try again later");
  }
  SUBCASE("unknown database -> config") {
    const DbUrl u = parse_db_url(url);
    const std::string other = std::string(dialect_name(B::dialect)) + "://" + u.user + ":" +
                              u.password + "@127.0.0.1:" + std::to_string(u.port) + "/no_such_db";
    const auto e = error_of([&] { Database::open({.url = other}); });
    REQUIRE(e);
    // MariaDB refuses a database the user has no grant on before saying it does not exist.
    CHECK((e->code() == Errc::config || e->code() == Errc::permission_denied));
    CHECK(contains(*e, "no_such_db"));
  }
  SUBCASE("malformed url -> config") {
    CHECK(code_of([&] {
            Database::open({.url = std::string(dialect_name(B::dialect)) + "://x"});
          }) == Errc::config);
  }
}

TEST_CASE_TEMPLATE("a server on this machine is reached over its Unix-domain socket", B,
                   PPI_BACKENDS) {
  const std::string tcp_url = server(B::dialect).create_database("socket");
  auto over_socket = Database::open({.url = server(B::dialect).socket_url(tcp_url)});
  auto over_tcp = Database::open({.url = tcp_url});
  {
    auto s = over_socket->acquire();
    s.exec_ddl("CREATE TABLE t (id BIGINT PRIMARY KEY, data " +
               std::string(B::dialect == Dialect::postgresql ? "BYTEA" : "LONGBLOB") + ")");
    s.exec("INSERT INTO t (id, data) VALUES (?, ?)", {std::int64_t{1}, Bytes{1, 2, 3}});
  }
  // The same database either way: what one wrote, the other reads.
  auto s = over_tcp->acquire();
  auto blob = s.read_blob("SELECT data FROM t WHERE id = ?", {std::int64_t{1}});
  REQUIRE(blob);
  CHECK(Bytes(blob->view().begin(), blob->view().end()) == Bytes{1, 2, 3});

  // A socket that is not there: unavailable, naming it.
  const auto e =
      error_of([&] { Database::open({.url = tcp_url + "?socket=/nonexistent/ppi-test.sock"}); });
  REQUIRE(e);
  CHECK(e->code() == Errc::unavailable);
  CHECK(contains(*e, "/nonexistent/ppi-test.sock"));
}

TEST_CASE_TEMPLATE("an exhausted pool times out with unavailable", B, PPI_BACKENDS) {
  auto db = fresh_db(B::dialect, false, {.pool_size = 2, .acquire_timeout = 300ms});
  auto a = db->acquire();
  auto b = db->acquire();
  const auto t0 = std::chrono::steady_clock::now();
  const auto e = error_of([&] { db->acquire(); });
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(e);
  CHECK(e->code() == Errc::unavailable);
  CHECK(contains(*e, "connection pool exhausted"));
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);
  {
    Session moved = std::move(b);  // a moved session returns its connection once
  }
  auto c = db->acquire();  // the returned connection is reused
  CHECK(c.exec("SELECT 1").rows.at(0).get_int(0) == 1);
  CHECK(code_of([&] { b.exec("SELECT 1"); }) == Errc::internal);
}

TEST_CASE_TEMPLATE("broken connections are detected and replaced", B, PPI_BACKENDS) {
  const bool pg = B::dialect == Dialect::postgresql;
  const std::string url = server(B::dialect).create_database("broken");
  const std::string my_id = pg ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()";
  auto killer = Database::open({.url = url, .pool_size = 1});
  auto kill_connection = [&](std::int64_t id) {
    auto k = killer->acquire();
    if (pg) {
      k.exec("SELECT pg_terminate_backend(?)", {id});
    } else {
      k.exec_ddl("KILL CONNECTION " + std::to_string(id));  // KILL takes no parameters
    }
    std::this_thread::sleep_for(100ms);  // let the server finish closing it
  };

  SUBCASE("killed while idle: validated on acquire, replaced transparently") {
    auto db = Database::open({.url = url, .pool_size = 1, .validate_after_idle = 0ms});
    std::int64_t first = 0;
    {
      auto s = db->acquire();
      first = s.exec(my_id).rows.at(0).get_int(0);
    }
    kill_connection(first);
    auto s = db->acquire();
    CHECK(s.exec(my_id).rows.at(0).get_int(0) != first);
  }
  SUBCASE("killed while leased: unavailable, then replaced") {
    auto db = Database::open({.url = url, .pool_size = 1, .validate_after_idle = 1h});
    std::int64_t first = 0;
    {
      auto s = db->acquire();
      first = s.exec(my_id).rows.at(0).get_int(0);
      kill_connection(first);
      const auto lost = error_of([&] { s.exec("SELECT 1"); });
      REQUIRE(lost);
      CHECK(lost->code() == Errc::unavailable);
      CHECK(std::string(lost->served()).find("127.0.0.1") == std::string::npos);
      CHECK(std::string(lost->what()).find("127.0.0.1") != std::string::npos);
    }
    auto s = db->acquire();  // the pool (of one) made a new connection
    CHECK(s.exec(my_id).rows.at(0).get_int(0) != first);
    s.exec("SELECT 1");
  }
}

TEST_CASE("harness: a server started on a short-lived thread outlives it; stop() ends it") {
  std::unique_ptr<test::PostgresServer> pg;
  std::thread([&] { pg = std::make_unique<test::PostgresServer>(); }).join();
  std::this_thread::sleep_for(200ms);  // time for a parent-death signal, if it were sent
  const std::string url = pg->create_database("survivor");
  Database::open({.url = url})->ping();
  const auto dir = pg->directory();
  CHECK(std::filesystem::exists(dir));
  pg->stop();
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(code_of([&] { Database::open({.url = url}); }) == Errc::unavailable);
}

}  // namespace
}  // namespace ppi::db
