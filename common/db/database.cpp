#include "db/database.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "db/connection.hpp"
#include "db/sql_text.hpp"

namespace ppi::db {

std::string_view dialect_name(Dialect d) {
  return d == Dialect::postgresql ? "postgresql" : "mysql";
}

std::string unix_ms_sql(Dialect d, std::string_view column) {
  const std::string c(column);
  // MySQL sessions run at time_zone '+00:00' (mysql.cpp), so UNIX_TIMESTAMP reads UTC.
  return d == Dialect::postgresql ? "CAST(FLOOR(EXTRACT(EPOCH FROM " + c + ") * 1000) AS BIGINT)"
                                  : "CAST(FLOOR(UNIX_TIMESTAMP(" + c + ") * 1000) AS SIGNED)";
}

// ---- urls -------------------------------------------------------------------------------------

namespace {

struct UrlParts {
  std::string_view scheme, userinfo, after_userinfo, hostport, path;
  bool has_userinfo = false;
};

// Splits at "://" and at the LAST '@', so that an unencoded '/', '@' or '?' in a password still
// lands in userinfo (and so is never echoed in an error message).
bool split_url(std::string_view url, UrlParts& p) {
  const std::size_t s = url.find("://");
  if (s == std::string_view::npos) return false;
  p.scheme = url.substr(0, s);
  std::string_view rest = url.substr(s + 3);
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    p.has_userinfo = true;
    p.userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  p.after_userinfo = rest;
  const std::size_t slash = rest.find('/');
  p.hostport = rest.substr(0, slash);
  p.path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::string redact_url(std::string_view url) {
  UrlParts p;
  if (!split_url(url, p)) {
    // Not even a scheme: show only what follows an '@', if anything.
    const std::size_t at = url.rfind('@');
    return at == std::string_view::npos ? std::string(url)
                                        : "***@" + std::string(url.substr(at + 1));
  }
  std::string out(p.scheme);
  out += "://";
  if (p.has_userinfo) {
    const std::size_t colon = p.userinfo.find(':');
    out += p.userinfo.substr(0, colon);
    if (colon != std::string_view::npos) out += ":***";
    out += '@';
  }
  out += p.after_userinfo;
  return out;
}

DbUrl parse_db_url(std::string_view url) {
  auto fail = [&](const std::string& why) -> Error {
    return Error(Errc::config, "invalid database url '" + redact_url(url) + "': " + why);
  };
  UrlParts p;
  if (!split_url(url, p))
    throw fail("expected postgresql://user:password@host:port/database or mysql://...");
  DbUrl out;
  if (p.scheme == "postgresql" || p.scheme == "postgres") {
    out.dialect = Dialect::postgresql;
    out.port = 5432;
  } else if (p.scheme == "mysql" || p.scheme == "mariadb") {
    out.dialect = Dialect::mysql;
    out.port = 3306;
  } else {
    throw fail("unknown scheme '" + std::string(p.scheme) + "' (postgresql or mysql)");
  }
  if (!p.has_userinfo) throw fail("no user (user:password@host)");
  const std::size_t colon = p.userinfo.find(':');
  if (!percent_decode(p.userinfo.substr(0, colon), out.user) || out.user.empty()) {
    throw fail("bad user name");
  }
  if (colon != std::string_view::npos &&
      !percent_decode(p.userinfo.substr(colon + 1), out.password)) {
    throw fail("bad percent-encoding in the password");
  }

  std::string_view host = p.hostport, port;
  if (host.starts_with('[')) {  // [IPv6]:port
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) throw fail("unterminated '[' in the host");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') throw fail("unexpected text after ']'");
      port = host.substr(close + 2);
      if (port.empty()) throw fail("empty port");
    }
    host = host.substr(1, close - 1);
  } else if (const std::size_t c = host.rfind(':'); c != std::string_view::npos) {
    port = host.substr(c + 1);
    host = host.substr(0, c);
    if (port.empty()) throw fail("empty port");
  }
  if (host.empty()) throw fail("no host");
  for (char c : host) {
    if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '@') throw fail("bad host");
  }
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || end != port.data() + port.size() || v == 0 || v > 65535) {
      throw fail("bad port '" + std::string(port) + "'");
    }
    out.port = static_cast<std::uint16_t>(v);
  }
  std::string_view path = p.path;
  if (const std::size_t q = path.find('?'); q != std::string_view::npos) {
    const std::string_view query = path.substr(q + 1);
    path = path.substr(0, q);
    if (!query.starts_with("socket=") || query.find_first_of("&#") != std::string_view::npos) {
      throw fail("the only query parameter is socket=/absolute/path");
    }
    if (!percent_decode(query.substr(7), out.socket) || !out.socket.starts_with('/') ||
        out.socket.find('\0') != std::string::npos) {
      throw fail("socket must be an absolute path");
    }
  }
  if (path.find('#') != std::string_view::npos) throw fail("fragments are not supported");
  if (!percent_decode(path, out.database) || out.database.empty() ||
      out.database.find('/') != std::string::npos) {
    throw fail("no database name (.../database)");
  }
  return out;
}

std::string server_address(const DbUrl& url) {
  std::string out = url.host + ":" + std::to_string(url.port);
  if (!url.socket.empty()) out += " via " + url.socket;
  return out;
}

// ---- rows -------------------------------------------------------------------------------------

namespace {

[[noreturn]] void bad_column(std::size_t i, const char* want, const char* why) {
  throw Error(Errc::database,
              "column " + std::to_string(i) + " cannot be read as " + want + ": " + why);
}

}  // namespace

const Value& Row::value(std::size_t i) const {
  if (i >= values_.size()) {
    throw Error(Errc::internal, "column " + std::to_string(i) + " out of range (row has " +
                                    std::to_string(values_.size()) + ")");
  }
  return values_[i];
}

bool Row::is_null(std::size_t i) const {
  return std::holds_alternative<std::nullptr_t>(value(i));
}

std::int64_t Row::get_int(std::size_t i) const {
  const Value& v = value(i);
  if (auto p = std::get_if<std::int64_t>(&v)) return *p;
  if (auto d = std::get_if<double>(&v)) {
    if (std::trunc(*d) == *d && std::abs(*d) < 9.2e18) return static_cast<std::int64_t>(*d);
    bad_column(i, "an integer", "not an integral value");
  }
  if (auto s = std::get_if<std::string>(&v)) {
    std::int64_t out = 0;
    std::string_view t = *s;
    // A DECIMAL with a zero fraction ("12.000") is still an integer.
    if (const auto dot = t.find('.'); dot != std::string_view::npos &&
                                      t.find_first_not_of('0', dot + 1) == std::string_view::npos) {
      t = t.substr(0, dot);
    }
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec == std::errc{} && end == t.data() + t.size()) return out;
    bad_column(i, "an integer", "not an integer");
  }
  bad_column(i, "an integer", is_null(i) ? "NULL" : "binary data");
}

double Row::get_double(std::size_t i) const {
  const Value& v = value(i);
  if (auto d = std::get_if<double>(&v)) return *d;
  if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
  if (auto s = std::get_if<std::string>(&v)) {
    double out = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc{} && end == s->data() + s->size()) return out;
    bad_column(i, "a number", "not a number");
  }
  bad_column(i, "a number", is_null(i) ? "NULL" : "binary data");
}

std::string Row::get_string(std::size_t i) const {
  const Value& v = value(i);
  if (auto s = std::get_if<std::string>(&v)) return *s;
  if (auto p = std::get_if<std::int64_t>(&v)) return std::to_string(*p);
  if (auto d = std::get_if<double>(&v)) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, *d);
    return std::string(buf, r.ptr);
  }
  if (auto b = std::get_if<Bytes>(&v)) return std::string(b->begin(), b->end());
  bad_column(i, "a string", "NULL");
}

Bytes Row::get_bytes(std::size_t i) const {
  const Value& v = value(i);
  if (auto b = std::get_if<Bytes>(&v)) return *b;
  if (auto s = std::get_if<std::string>(&v)) return Bytes(s->begin(), s->end());
  bad_column(i, "bytes", is_null(i) ? "NULL" : "a number");
}

Bytes Row::take_bytes(std::size_t i) {
  Value& v = const_cast<Value&>(value(i));
  if (auto b = std::get_if<Bytes>(&v)) {
    Bytes out = std::move(*b);
    v = nullptr;
    return out;
  }
  return get_bytes(i);
}

Blob& Blob::operator=(Blob&& o) noexcept {
  if (this != &o) {
    if (wipe_) cleanse(bytes_.data(), bytes_.size());
    owner_ = std::move(o.owner_);
    bytes_ = std::exchange(o.bytes_, {});
    wipe_ = o.wipe_;
  }
  return *this;
}

Blob::~Blob() {
  if (wipe_) cleanse(bytes_.data(), bytes_.size());
}

// ---- pool -------------------------------------------------------------------------------------

namespace detail {

void check_param_count(std::string_view sql, std::size_t params) {
  const std::size_t want = count_placeholders(sql);
  if (want != params) {
    throw Error(Errc::internal, "statement has " + std::to_string(want) + " placeholders but " +
                                    std::to_string(params) + " parameters were given");
  }
}

std::optional<Blob> Connection::read_blob(std::string_view sql, const std::vector<Param>& params) {
  Result r = exec(sql, params);
  if (r.rows.empty()) return std::nullopt;
  if (r.rows.size() != 1 || r.rows[0].size() != 1 || r.rows[0].is_null(0) ||
      !std::holds_alternative<Bytes>(r.rows[0].value(0))) {
    throw Error(Errc::database, "read_blob: the query must return one non-NULL blob column");
  }
  auto owned = std::make_shared<Bytes>(r.rows[0].take_bytes(0));
  std::span<std::uint8_t> bytes(owned->data(), owned->size());
  return Blob(std::move(owned), bytes);
}

Error database_error(Errc code, const std::string& detail) {
  switch (code) {
    case Errc::unavailable:
      return Error(code, detail, "database unavailable; try again later");
    case Errc::conflict:
      return Error(code, detail, "the database refused a conflicting change");
    case Errc::invalid_argument:
      return Error(code, detail, "a value the database refused");
    default:
      return Error(code, detail, "database error");
  }
}

Pool::Pool(DbUrl url, DbConfig cfg) : url_(std::move(url)), cfg_(std::move(cfg)) {
  if (cfg_.pool_size == 0) throw Error(Errc::config, "database pool_size must be at least 1");
}

std::unique_ptr<Connection> Pool::connect() {
  return url_.dialect == Dialect::postgresql ? connect_postgresql(url_, cfg_)
                                             : connect_mysql(url_, cfg_);
}

void Pool::forget_one() noexcept {
  std::lock_guard lock(mutex_);
  --open_;
  freed_.notify_one();
}

std::unique_ptr<Connection> Pool::take() {
  const auto deadline = std::chrono::steady_clock::now() + cfg_.acquire_timeout;
  for (;;) {
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock lock(mutex_);
      const bool ready = freed_.wait_until(
          lock, deadline, [&] { return !idle_.empty() || open_ < cfg_.pool_size; });
      if (!ready) {
        throw database_error(Errc::unavailable,
                             "connection pool exhausted: all " + std::to_string(cfg_.pool_size) +
                                 " connections to " + url_.host + ":" + std::to_string(url_.port) +
                                 " are in use (waited " +
                                 std::to_string(cfg_.acquire_timeout.count()) + " ms)");
      }
      if (idle_.empty()) {
        ++open_;
      } else {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!conn) {
      try {
        return connect();
      } catch (...) {
        forget_one();
        throw;
      }
    }
    const bool stale =
        std::chrono::steady_clock::now() - conn->idle_since >= cfg_.validate_after_idle;
    if (!stale || conn->alive()) return conn;
    conn.reset();  // dead (server restarted, idle timeout...): make a new one in its place
    forget_one();
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn) noexcept {
  if (!conn) return;
  if (conn->in_transaction && !conn->broken) {
    // A Session dropped in the middle of a transaction: never hand out its locks or writes.
    try {
      conn->exec_ddl("ROLLBACK");
      conn->in_transaction = false;
    } catch (...) {
      conn->broken = true;
    }
  }
  if (conn->broken || conn->in_transaction) {
    conn.reset();
    forget_one();
    return;
  }
  conn->idle_since = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(conn));
  freed_.notify_one();
}

}  // namespace detail

// ---- session, transaction, database -----------------------------------------------------------

Session::Session(std::shared_ptr<detail::Pool> pool, std::unique_ptr<detail::Connection> conn)
    : pool_(std::move(pool)), conn_(std::move(conn)) {}

Session::Session(Session&& o) noexcept = default;

Session::~Session() {
  if (pool_ && conn_) pool_->give_back(std::move(conn_));
}

namespace {

detail::Connection& live(const std::unique_ptr<detail::Connection>& c) {
  if (!c) throw Error(Errc::internal, "use of a moved-from database session");
  return *c;
}

}  // namespace

Dialect Session::dialect() const {
  return live(conn_).dialect();
}

Result Session::exec(std::string_view sql, const std::vector<Param>& params) {
  detail::check_param_count(sql, params.size());
  return live(conn_).exec(sql, params);
}

std::optional<Blob> Session::read_blob(std::string_view sql, const std::vector<Param>& params) {
  detail::check_param_count(sql, params.size());
  return live(conn_).read_blob(sql, params);
}

void Session::exec_ddl(std::string_view sql) {
  live(conn_).exec_ddl(sql);
}

bool Session::in_transaction() const {
  return live(conn_).in_transaction;
}

void Session::begin() {
  auto& c = live(conn_);
  if (c.in_transaction) throw Error(Errc::internal, "begin() inside a transaction");
  c.exec_ddl(c.dialect() == Dialect::postgresql ? "BEGIN" : "START TRANSACTION");
  c.in_transaction = true;
}

void Session::commit() {
  auto& c = live(conn_);
  if (!c.in_transaction) throw Error(Errc::internal, "commit() outside a transaction");
  c.exec_ddl("COMMIT");  // on failure in_transaction stays set, so a rollback follows
  c.in_transaction = false;
}

void Session::rollback() {
  auto& c = live(conn_);
  if (!c.in_transaction) throw Error(Errc::internal, "rollback() outside a transaction");
  c.exec_ddl("ROLLBACK");
  c.in_transaction = false;
}

Transaction::Transaction(Session& s) : session_(s) {
  session_.begin();
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    if (session_.in_transaction()) session_.rollback();
  } catch (...) {
    // The connection is marked broken by the backend and dropped when the session ends.
  }
}

void Transaction::commit() {
  session_.commit();
  done_ = true;
}

std::shared_ptr<Database> Database::open(const DbConfig& cfg) {
  auto pool = std::make_shared<detail::Pool>(parse_db_url(cfg.url), cfg);
  pool->give_back(pool->take());  // fail now, with one clear error, rather than at first use
  return std::make_shared<Database>(std::move(pool));
}

Dialect Database::dialect() const {
  return pool_->dialect();
}

Session Database::acquire() {
  return Session(pool_, pool_->take());
}

void Database::ping() {
  Session s = acquire();
  const Result r = s.exec("SELECT 1");
  if (r.rows.size() != 1 || r.rows[0].get_int(0) != 1) {
    throw Error(Errc::database, "ping: unexpected answer to SELECT 1");
  }
}

}  // namespace ppi::db
