#include "db_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "process.hpp"

namespace fs = std::filesystem;

namespace ppi::test {

namespace {

using namespace std::chrono_literals;

[[noreturn]] void fail(const std::string& msg) {
  throw Error(Errc::internal, "test-db: " + msg);
}

std::string random_hex(std::size_t n) {
  static std::mutex m;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(m);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += "0123456789abcdef"[rng() % 16];
  return out;
}

std::string tail_of(const fs::path& file, std::size_t max_chars = 3000) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_chars ? "..." + s.substr(s.size() - max_chars) : s;
}

// ---- emergency cleanup: servers must not outlive the test process -----------------------------
// PR_SET_PDEATHSIG is what really guarantees it. The handlers below only make SIGINT/SIGTERM/
// SIGHUP stop servers immediately; doctest swaps its own SIGINT/SIGTERM handlers in and out
// around every test case, so after the first one those two fall back to PR_SET_PDEATHSIG.

// Read from a signal handler, so plain atomics in a fixed table.
struct Live {
  std::atomic<pid_t> pid{0};
  std::atomic<int> signal{0};  // immediate-stop signal of that server
};
constexpr int kSlots = 16;
Live g_live[kSlots];
struct sigaction g_previous[3];
constexpr int kCaught[3] = {SIGINT, SIGTERM, SIGHUP};

void kill_all_now() noexcept {
  for (auto& l : g_live) {
    const pid_t p = l.pid.exchange(0);
    if (p > 0) kill(p, l.signal.load());
  }
}

extern "C" void on_terminate_signal(int sig) {
  kill_all_now();  // kill() is async-signal-safe; the directories stay behind
  for (int i = 0; i < 3; ++i) {
    if (kCaught[i] == sig) sigaction(sig, &g_previous[i], nullptr);
  }
  raise(sig);
}

extern "C" void at_exit_cleanup() {
  // Only servers whose destructor did not run are left here.
  for (auto& l : g_live) {
    const pid_t p = l.pid.exchange(0);
    if (p > 0) {
      kill(p, l.signal.load());
      waitpid(p, nullptr, 0);
    }
  }
}

int register_server(pid_t pid, int death_signal) {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(at_exit_cleanup);
    struct sigaction sa {};
    sa.sa_handler = on_terminate_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kCaught[i], &sa, &g_previous[i]);
  });
  for (int i = 0; i < kSlots; ++i) {
    pid_t expected = 0;
    if (g_live[i].pid.compare_exchange_strong(expected, -1)) {  // reserve, then fill in
      g_live[i].signal.store(death_signal);
      g_live[i].pid.store(pid);
      return i;
    }
  }
  return -1;
}

std::string pct_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string pg_bindir() {
  if (const char* env = std::getenv("PPI_PG_BINDIR")) return env;
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const int v = std::atoi(e.path().filename().c_str());
    if (v > best_version && fs::exists(e.path() / "bin" / "postgres")) {
      best_version = v;
      best = (e.path() / "bin").string();
    }
  }
  if (best.empty()) fail("no PostgreSQL server in /usr/lib/postgresql (set PPI_PG_BINDIR)");
  return best;
}

std::string find_program(std::initializer_list<const char*> candidates) {
  for (const char* c : candidates) {
    if (access(c, X_OK) == 0) return c;
  }
  fail(std::string("not installed: ") + *candidates.begin());
}

// Removes the directories of earlier test processes that died without cleaning up (SIGKILL,
// a signal): each directory names its owner's pid in "owner".
void sweep_stale_directories() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      if (!e.path().filename().string().starts_with("ppi-test-")) continue;
      pid_t owner = 0;
      std::ifstream(e.path() / "owner") >> owner;
      if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
  });
}

}  // namespace

static std::uint16_t probe_free_port();

std::uint16_t free_port() {
  // The kernel may give the same free port to two probes in a row (each is released at once),
  // and a test that asks for two ports before either is bound (a dealer's REST and gRPC ports)
  // then starts an actor that cannot listen: never hand out a port twice in one process.
  static std::mutex mu;
  static std::set<std::uint16_t> given;
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::uint16_t port = probe_free_port();
    if (given.insert(port).second) return port;
  }
  fail("cannot find a free port not handed out before");
}

static std::uint16_t probe_free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    fail("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- DbServer ---------------------------------------------------------------------------------

DbServer::DbServer(db::Dialect d, const char* os_user) : dialect_(d) {
  if (geteuid() == 0) {
    // Neither server runs as root: use its own OS user, as a packaged server would.
    const passwd* pw = getpwnam(os_user);
    if (!pw) fail(std::string("OS user '") + os_user + "' does not exist");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    switch_user_ = true;
  } else {
    uid_ = geteuid();
    gid_ = getegid();
  }
  sweep_stale_directories();
  std::string tmpl =
      (fs::temp_directory_path() / ("ppi-test-" + std::string(db::dialect_name(d)) + "-XXXXXX"))
          .string();
  if (!mkdtemp(tmpl.data())) fail("mkdtemp failed for " + tmpl);
  dir_ = tmpl;
  hand_over(dir_);
  std::ofstream(dir_ / "owner") << getpid() << "\n";
  admin_password_ = random_hex(24);
  port_ = free_port();
}

DbServer::~DbServer() {
  stop();
}

void DbServer::hand_over(const fs::path& path) const {
  if (switch_user_ && chown(path.c_str(), uid_, gid_) != 0) fail("chown failed: " + path.string());
}

void DbServer::run_tool(const std::vector<std::string>& argv, const char* what) {
  const fs::path log = dir_ / (std::string(what) + ".log");
  const pid_t pid = spawn({argv, {}, log, switch_user_, uid_, gid_, SIGKILL});
  const int rc = wait_exit(pid, 120s);
  if (rc != 0) {
    if (rc < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    fail(std::string(what) + " failed (status " + std::to_string(rc) + "):\n" + tail_of(log));
  }
}

void DbServer::launch(const std::vector<std::string>& argv, int stop_signal, int death_signal) {
  const fs::path log = dir_ / "server.log";
  argv_ = argv;
  stop_signal_ = stop_signal;
  death_signal_ = death_signal;
  pid_ = spawn({argv, {}, log, switch_user_, uid_, gid_, death_signal});
  slot_ = register_server(pid_, death_signal);

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  db::DbConfig cfg{.url = admin_url_, .pool_size = 2, .connect_timeout = std::chrono::seconds(2)};
  for (;;) {
    const int rc = wait_exit(pid_, 0ms);
    if (rc >= 0) {
      pid_ = -1;
      fail(std::string(db::dialect_name(dialect_)) + " server exited with status " +
           std::to_string(rc) + ":\n" + tail_of(log));
    }
    try {
      admin_ = db::Database::open(cfg);
      break;
    } catch (const Error& e) {
      if (std::chrono::steady_clock::now() > deadline) {
        fail(std::string(db::dialect_name(dialect_)) + " server did not start: " + e.what() + "\n" +
             tail_of(log));
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  auto s = admin_->acquire();
  std::string v =
      s.exec(dialect_ == db::Dialect::postgresql ? "SHOW server_version" : "SELECT VERSION()")
          .rows.at(0)
          .get_string(0);
  version_ = v.substr(0, v.find_first_of(" -"));
  std::cerr << "test-db: " << (dialect_ == db::Dialect::postgresql ? "postgresql" : "mariadb")
            << ' ' << version_ << " up on 127.0.0.1:" << port_ << " (datadir " << dir_.string()
            << "/data)\n";
}

std::string DbServer::create_database(std::string_view name) {
  static std::atomic<int> counter{0};
  auto ok = [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 40 || (name[0] >= '0' && name[0] <= '9') ||
      !std::all_of(name.begin(), name.end(), ok)) {
    fail("bad database name '" + std::string(name) + "'");
  }
  if (!admin_) fail("server is stopped");
  // Identifiers and the password are generated here, never input, so pasting them is safe.
  const std::string full = std::string(name) + "_" + std::to_string(++counter);
  const std::string password = random_hex(24);
  auto s = admin_->acquire();
  create_user_and_database(s, full, password);
  return std::string(db::dialect_name(dialect_)) + "://" + full + ":" + password +
         "@127.0.0.1:" + std::to_string(port_) + "/" + full;
}

std::string DbServer::socket_url(std::string_view url) const {
  return std::string(url) + "?socket=" + pct_encode(socket_path().string());
}

std::string DbServer::url_with_password(std::string_view url, std::string_view password) {
  const db::DbUrl u = db::parse_db_url(url);
  return std::string(db::dialect_name(u.dialect)) + "://" + pct_encode(u.user) + ":" +
         pct_encode(password) + "@" + u.host + ":" + std::to_string(u.port) + "/" +
         pct_encode(u.database);
}

void DbServer::stop() {
  halt();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

void DbServer::resume() {
  if (pid_ > 0) return;
  if (dir_.empty()) fail("server was stopped for good");
  launch(argv_, stop_signal_, death_signal_);
}

void DbServer::halt() {
  admin_.reset();
  if (pid_ > 0) {
    if (slot_ >= 0) g_live[slot_].pid.store(0);  // stopping it properly now
    kill(pid_, stop_signal_);
    if (wait_exit(pid_, 20s) < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
}

// ---- PostgreSQL -------------------------------------------------------------------------------

PostgresServer::PostgresServer() : DbServer(db::Dialect::postgresql, "postgres") {
  const std::string bin = pg_bindir();
  const fs::path pwfile = dir_ / "pwfile";
  std::ofstream(pwfile) << admin_password_ << "\n";
  hand_over(pwfile);
  run_tool(
      {bin + "/initdb", "-D", (dir_ / "data").string(), "-U", "postgres", "--auth=scram-sha-256",
       "--pwfile=" + pwfile.string(), "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
      "initdb");
  fs::remove(pwfile);
  admin_url_ = "postgresql://postgres:" + admin_password_ + "@127.0.0.1:" + std::to_string(port_) +
               "/postgres";
  // SIGINT is PostgreSQL's fast shutdown; SIGQUIT (if we die) its immediate one, which also
  // ends the backends.
  std::vector<std::string> argv = {
      bin + "/postgres", "-D", (dir_ / "data").string(), "-p", std::to_string(port_), "-k",
      dir_.string()};
  // Buffers hold a converter benchmark's batches (3 x 320 MB): a dealer's reads of a fresh
  // batch then come from its database's cache, not 8 KiB preads. Touched only as used.
  for (const char* setting :
       {"listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", "full_page_writes=off",
        "max_connections=200", "shared_buffers=2GB", "logging_collector=off"}) {
    argv.insert(argv.end(), {"-c", setting});
  }
  launch(argv, SIGINT, SIGQUIT);
}

void PostgresServer::create_user_and_database(db::Session& admin, const std::string& name,
                                              const std::string& password) {
  admin.exec_ddl("CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
  admin.exec_ddl("CREATE DATABASE " + name + " OWNER " + name);
}

// ---- MariaDB ----------------------------------------------------------------------------------

MariaDbServer::MariaDbServer() : DbServer(db::Dialect::mysql, "mysql") {
  const fs::path data = dir_ / "data";
  run_tool(
      {find_program({"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"}), "--no-defaults",
       "--datadir=" + data.string(), "--auth-root-authentication-method=normal", "--skip-test-db"},
      "mariadb-install-db");
  // Grant tables stay on: an admin with a real password, so wrong passwords are refused.
  const fs::path init = dir_ / "init.sql";
  std::ofstream(init)
      << "CREATE USER IF NOT EXISTS 'ppi_admin'@'127.0.0.1' IDENTIFIED BY '" << admin_password_
      << "';\n"
      << "GRANT ALL PRIVILEGES ON *.* TO 'ppi_admin'@'127.0.0.1' WITH GRANT OPTION;\n";
  hand_over(init);
  admin_url_ =
      "mysql://ppi_admin:" + admin_password_ + "@127.0.0.1:" + std::to_string(port_) + "/mysql";
  // The buffer pool is sized as PostgreSQL's shared_buffers above: MariaDB reads with O_DIRECT,
  // so a smaller pool sends a dealer's share reads to the disk.
  launch({find_program({"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}), "--no-defaults",
          "--datadir=" + data.string(), "--port=" + std::to_string(port_),
          "--bind-address=127.0.0.1", "--socket=" + (dir_ / "mysqld.sock").string(),
          "--pid-file=" + (dir_ / "mysqld.pid").string(), "--skip-name-resolve",
          "--init-file=" + init.string(), "--character-set-server=utf8mb4",
          "--collation-server=utf8mb4_bin", "--max-allowed-packet=64M", "--max-connections=200",
          "--innodb-buffer-pool-size=2G", "--innodb-flush-log-at-trx-commit=0",
          "--innodb-doublewrite=0", "--innodb-fast-shutdown=2", "--performance-schema=OFF",
          "--skip-log-bin"},
         SIGTERM, SIGKILL);
}

void MariaDbServer::create_user_and_database(db::Session& admin, const std::string& name,
                                             const std::string& password) {
  admin.exec_ddl("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  // One account per client host: 127.0.0.1 over TCP, localhost over the Unix-domain socket.
  for (const char* host : {"127.0.0.1", "localhost"}) {
    admin.exec_ddl("CREATE USER '" + name + "'@'" + host + "' IDENTIFIED BY '" + password + "'");
    admin.exec_ddl("GRANT ALL PRIVILEGES ON " + name + ".* TO '" + name + "'@'" + host + "'");
  }
}

TestDatabases& test_databases() {
  static TestDatabases dbs;
  return dbs;
}

std::unique_ptr<DbServer> start_server(db::Dialect dialect) {
  if (dialect == db::Dialect::postgresql) return std::make_unique<PostgresServer>();
  return std::make_unique<MariaDbServer>();
}

}  // namespace ppi::test
