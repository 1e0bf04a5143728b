#pragma once
// Real database servers for tests: PostgreSQL and MariaDB, each started in a fresh temporary
// data directory on a free loopback port chosen at run time, with password authentication.
//
//   auto& dbs = ppi::test::test_databases();           // starts both, once per process
//   auto db = ppi::db::Database::open({.url = dbs.postgres.create_database("dealer")});
//
// Servers run as the OS users postgres / mysql when the tests run as root, else as the current
// user. They are always stopped: by the destructor (fast shutdown, then the directory is
// removed), by an atexit hook, and, if the test process dies any other way (crash, signal,
// SIGKILL), by the kernel (PR_SET_PDEATHSIG). Directories left by a killed run are removed by
// the next run. Servers may be started from any thread.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "db/database.hpp"

namespace ppi::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
std::uint16_t free_port();

class DbServer {
 public:
  virtual ~DbServer();
  DbServer(const DbServer&) = delete;
  DbServer& operator=(const DbServer&) = delete;

  db::Dialect dialect() const { return dialect_; }
  std::uint16_t port() const { return port_; }
  const std::string& version() const { return version_; }
  const std::filesystem::path& directory() const { return dir_; }

  // A fresh database with its own user and password; returns its url. name ([a-z_][a-z0-9_]*,
  // at most 40 characters) is a prefix: a counter is appended so every call gets a new one.
  std::string create_database(std::string_view name);
  // url (of this server) reaching it over its Unix-domain socket instead of TCP.
  std::string socket_url(std::string_view url) const;
  // url with its password replaced (percent-encoded), e.g. to test a wrong password.
  static std::string url_with_password(std::string_view url, std::string_view password);
  // Stops the server (fast shutdown, SIGKILL after 20 s) and removes its directory. Idempotent.
  void stop();
  // Stops the server as stop() does but keeps its data, so resume() starts it again on the
  // same port with the same databases: a database that goes away and comes back.
  void halt();
  void resume();

 protected:
  // Makes the temporary directory, owned by the user the server will run as.
  DbServer(db::Dialect d, const char* os_user);
  // Runs a set-up program (initdb...) as that user; throws with its output on failure.
  void run_tool(const std::vector<std::string>& argv, const char* what);
  // Starts the server on port_, waits until admin_url_ accepts connections, prints one line.
  void launch(const std::vector<std::string>& argv, int stop_signal, int death_signal);
  // Makes path (written by the test process) readable by the server's user.
  void hand_over(const std::filesystem::path& path) const;
  virtual void create_user_and_database(db::Session& admin, const std::string& name,
                                        const std::string& password) = 0;
  // What ?socket= names: PostgreSQL's socket directory, MariaDB's socket file.
  virtual std::filesystem::path socket_path() const = 0;

  db::Dialect dialect_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::string admin_password_;
  std::string version_;
  std::string admin_url_;
  std::shared_ptr<db::Database> admin_;

 private:
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
  pid_t pid_ = -1;
  int stop_signal_ = 0, death_signal_ = 0;
  std::vector<std::string> argv_;  // what launch() ran, for resume()
  int slot_ = -1;                  // entry in the emergency-cleanup table
};

// initdb into <tmp>/data (scram-sha-256 for TCP), then `postgres -D ... -p PORT -k <tmp>
// -c listen_addresses=127.0.0.1` with fsync off. The binaries come from $PPI_PG_BINDIR or the
// newest /usr/lib/postgresql/<N>/bin.
class PostgresServer final : public DbServer {
 public:
  PostgresServer();

 private:
  void create_user_and_database(db::Session& admin, const std::string& name,
                                const std::string& password) override;
  std::filesystem::path socket_path() const override { return dir_; }
};

// mariadb-install-db into <tmp>/data, then mariadbd on 127.0.0.1:PORT with a socket in <tmp>;
// an init file creates an admin user with a password (grant tables stay on).
class MariaDbServer final : public DbServer {
 public:
  MariaDbServer();

 private:
  void create_user_and_database(db::Session& admin, const std::string& name,
                                const std::string& password) override;
  std::filesystem::path socket_path() const override { return dir_ / "mysqld.sock"; }
};

struct TestDatabases {
  PostgresServer postgres;
  MariaDbServer mariadb;
  DbServer& server(db::Dialect d) {
    return d == db::Dialect::postgresql ? static_cast<DbServer&>(postgres) : mariadb;
  }
};

// A server of its own for one test (one actor's database that the test stops, halts...).
std::unique_ptr<DbServer> start_server(db::Dialect dialect);

// Both servers, started on first use and stopped at process exit.
TestDatabases& test_databases();

}  // namespace ppi::test
