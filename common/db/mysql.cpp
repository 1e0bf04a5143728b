// MariaDB / MySQL backend on mysql-connector-c++ 1.1 (the JDBC-like legacy API).

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <istream>
#include <mutex>
#include <streambuf>
#include <unordered_map>

#include "db/connection.hpp"
#include "db/sql_text.hpp"

namespace ppi::db::detail {

namespace {

// Strict, so that a too long value or invalid UTF-8 is an error instead of being truncated or
// replaced; ANSI_QUOTES and NO_BACKSLASH_ESCAPES make quoting mean what it means in PostgreSQL.
constexpr const char* kSqlMode =
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ANSI_QUOTES,NO_BACKSLASH_ESCAPES', "
    "time_zone = '+00:00', NAMES utf8mb4";
constexpr const char* kIsolation = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

bool is_lost_connection(int e) {
  // CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED, ER_CONNECTION_KILLED,
  // ER_SERVER_SHUTDOWN.
  return e == 2006 || e == 2013 || e == 2055 || e == 1927 || e == 1053;
}

bool in(int e, std::initializer_list<int> codes) {
  return std::find(codes.begin(), codes.end(), e) != codes.end();
}

// Server error numbers (mysqld_error.h) and client ones (errmsg.h, 2xxx).
Errc classify(int e) {
  if (in(e, {1062, 1586, 1557})) return Errc::conflict;        // duplicate key
  if (in(e, {1451, 1452, 1216, 1217})) return Errc::conflict;  // foreign key
  if (in(e, {1213, 1205})) return Errc::conflict;              // deadlock, lock wait timeout: retry
  if (in(e, {1406, 1366, 1300})) return Errc::invalid_argument;  // too long, invalid UTF-8
  if (in(e, {1264, 1265, 1292, 1367, 1411, 1690})) return Errc::invalid_argument;  // bad value
  if (in(e, {1048, 1364})) return Errc::invalid_argument;  // NULL into NOT NULL, no default
  if (in(e, {4025, 3819})) return Errc::invalid_argument;  // CHECK (MariaDB, MySQL)
  if (in(e, {1045, 1698})) return Errc::unauthenticated;
  if (in(e, {1044, 1142, 1143, 1227})) return Errc::permission_denied;
  if (e == 1049) return Errc::config;  // unknown database
  if (in(e, {2002, 2003, 2005, 1040, 1129, 1152, 1184}) || is_lost_connection(e)) {
    return Errc::unavailable;  // cannot connect, too many connections, lost
  }
  return Errc::database;
}

// Whether the keyword RETURNING appears outside quotes and comments.
bool has_returning(std::string_view sql) {
  constexpr std::string_view kw = "returning";
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t i = 0; i < sql.size();) {
    if (const std::size_t j = skip_quoted(sql, i); j != i) {
      i = j;
      continue;
    }
    if (i + kw.size() <= sql.size() && (i == 0 || !word(sql[i - 1])) &&
        (i + kw.size() == sql.size() || !word(sql[i + kw.size()])) &&
        std::equal(
            kw.begin(), kw.end(), sql.begin() + static_cast<std::ptrdiff_t>(i),
            [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      return true;
    }
    ++i;
  }
  return false;
}

// An istream over caller-owned bytes, so a blob parameter is streamed without a copy.
struct ViewBuf : std::streambuf {
  explicit ViewBuf(const Bytes& b) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(b.data()));
    setg(p, p, p + b.size());
  }
};
struct ViewStream : std::istream {
  explicit ViewStream(const Bytes& b) : std::istream(nullptr), buf(b) { rdbuf(&buf); }
  ViewBuf buf;
};

sql::mysql::MySQL_Driver* driver() {
  // The first call initialises the client library, which is not thread-safe.
  static std::once_flag once;
  static sql::mysql::MySQL_Driver* d = nullptr;
  std::call_once(once, [] { d = sql::mysql::get_mysql_driver_instance(); });
  return d;
}

class MyConnection final : public Connection {
 public:
  MyConnection(std::unique_ptr<sql::Connection> c, std::string where)
      : conn_(std::move(c)), where_(std::move(where)) {}

  Dialect dialect() const override { return Dialect::mysql; }

  Result exec(std::string_view sql, const std::vector<Param>& params) override {
    try {
      Prepared& stmt = prepare(sql);
      std::vector<std::unique_ptr<ViewStream>> blobs;
      bind(*stmt.ps, params, blobs);
      Result out;
      // The connector has no update count after execute(): pick the call by the statement's
      // result metadata (INSERT ... RETURNING has columns too).
      if (stmt.returns_rows) {
        std::unique_ptr<sql::ResultSet> rs(stmt.ps->executeQuery());
        read_rows(*rs, out);
        out.affected = out.rows.size();
      } else {
        out.affected = static_cast<std::uint64_t>(stmt.ps->executeUpdate());
      }
      return out;
    } catch (const sql::SQLException& e) {
      throw translate(e);
    }
  }

  std::optional<Blob> read_blob(std::string_view sql, const std::vector<Param>& params) override {
    try {
      Prepared& stmt = prepare(sql);
      std::vector<std::unique_ptr<ViewStream>> blobs;
      bind(*stmt.ps, params, blobs);
      std::unique_ptr<sql::ResultSet> rs(stmt.ps->executeQuery());
      sql::ResultSetMetaData* meta = rs->getMetaData();
      const bool one_blob = meta->getColumnCount() == 1 && is_binary(meta->getColumnType(1));
      if (!rs->next()) {
        if (!one_blob) throw Error(Errc::database, kNotOneBlob);
        return std::nullopt;
      }
      if (!one_blob || rs->isNull(1) || rs->rowsCount() != 1)
        throw Error(Errc::database, kNotOneBlob);
      // getString hands out the connector's row buffer in one copy, where getBlob's stream
      // would add two more; the string is owned here and wiped by the Blob.
      auto value = std::make_shared<sql::SQLString>(rs->getString(1));
      const std::string& bytes = value->asStdString();
      std::span<std::uint8_t> view(reinterpret_cast<std::uint8_t*>(const_cast<char*>(bytes.data())),
                                   bytes.size());
      return Blob(std::move(value), view);
    } catch (const sql::SQLException& e) {
      throw translate(e);
    }
  }

  void exec_ddl(std::string_view sql) override {
    try {
      std::unique_ptr<sql::Statement> st(conn_->createStatement());
      st->execute(std::string(sql));
      // Drain any result set so the connection stays usable.
      do {
        std::unique_ptr<sql::ResultSet> rs(st->getResultSet());
      } while (st->getMoreResults());
    } catch (const sql::SQLException& e) {
      throw translate(e);
    }
  }

  bool alive() noexcept override {
    try {
      std::unique_ptr<sql::Statement> st(conn_->createStatement());
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT 1"));
      return rs->next();
    } catch (...) {
      broken = true;
      return false;
    }
  }

 private:
  static constexpr const char* kNotOneBlob =
      "read_blob: the query must return one non-NULL blob column";

  static bool is_binary(int type) {
    return type == sql::DataType::BINARY || type == sql::DataType::VARBINARY ||
           type == sql::DataType::LONGVARBINARY;
  }

  // Binds params to ps; blob parameters are streamed from views kept alive in `blobs`.
  static void bind(sql::PreparedStatement& ps, const std::vector<Param>& params,
                   std::vector<std::unique_ptr<ViewStream>>& blobs) {
    ps.clearParameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto idx = static_cast<unsigned>(i + 1);
      const Param& p = params[i];
      if (auto v = std::get_if<std::int64_t>(&p)) {
        ps.setInt64(idx, *v);
      } else if (auto d = std::get_if<double>(&p)) {
        ps.setDouble(idx, *d);
      } else if (auto s = std::get_if<std::string>(&p)) {
        // Rejected in both dialects alike: PostgreSQL text cannot hold NUL.
        if (s->find('\0') != std::string::npos) {
          throw Error(Errc::invalid_argument,
                      "mysql: text parameter " + std::to_string(idx) + " contains a NUL byte");
        }
        ps.setString(idx, *s);
      } else if (auto b = std::get_if<Bytes>(&p)) {
        blobs.push_back(std::make_unique<ViewStream>(*b));
        ps.setBlob(idx, blobs.back().get());
      } else {
        ps.setNull(idx, sql::DataType::SQLNULL);
      }
    }
  }

  struct Prepared {
    std::unique_ptr<sql::PreparedStatement> ps;
    bool returns_rows = false;
  };

  Prepared& prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second;
    Prepared p;
    p.ps.reset(conn_->prepareStatement(key));
    // MariaDB describes no result columns when preparing INSERT/UPDATE/DELETE ... RETURNING.
    sql::ResultSetMetaData* meta = p.ps->getMetaData();
    p.returns_rows = (meta && meta->getColumnCount() > 0) || has_returning(key);
    return statements_.emplace(std::move(key), std::move(p)).first->second;
  }

  // Each cell becomes the Value its column type calls for; blobs arrive as raw bytes.
  static void read_rows(sql::ResultSet& rs, Result& out) {
    sql::ResultSetMetaData* meta = rs.getMetaData();
    const unsigned cols = meta->getColumnCount();
    std::vector<int> types(cols);
    std::vector<bool> is_signed(cols);
    for (unsigned j = 0; j < cols; ++j) {
      types[j] = meta->getColumnType(j + 1);
      is_signed[j] = meta->isSigned(j + 1);
    }
    while (rs.next()) {
      std::vector<Value> values;
      values.reserve(cols);
      for (unsigned j = 0; j < cols; ++j) {
        const unsigned c = j + 1;
        if (rs.isNull(c)) {
          values.emplace_back(nullptr);
          continue;
        }
        switch (types[j]) {
          case sql::DataType::BIT:
          case sql::DataType::TINYINT:
          case sql::DataType::SMALLINT:
          case sql::DataType::MEDIUMINT:
          case sql::DataType::INTEGER:
          case sql::DataType::YEAR:
          case sql::DataType::BIGINT:
            if (!is_signed[j] && types[j] == sql::DataType::BIGINT) {
              const std::uint64_t u = rs.getUInt64(c);
              if (u > static_cast<std::uint64_t>(INT64_MAX)) {
                values.emplace_back(std::to_string(u));
                break;
              }
              values.emplace_back(static_cast<std::int64_t>(u));
            } else {
              values.emplace_back(static_cast<std::int64_t>(rs.getInt64(c)));
            }
            break;
          case sql::DataType::REAL:
          case sql::DataType::DOUBLE:
            values.emplace_back(static_cast<double>(rs.getDouble(c)));
            break;
          case sql::DataType::BINARY:
          case sql::DataType::VARBINARY:
          case sql::DataType::LONGVARBINARY: {
            const sql::SQLString value = rs.getString(c);  // binary-safe; see read_blob
            const std::string& b = value.asStdString();
            values.emplace_back(Bytes(b.begin(), b.end()));
            break;
          }
          default:
            values.emplace_back(rs.getString(c).asStdString());
        }
      }
      out.rows.emplace_back(std::move(values));
    }
  }

  Error translate(const sql::SQLException& e) {
    const int code = e.getErrorCode();
    Errc errc = classify(code);
    if (is_lost_connection(code) || conn_->isClosed()) {
      broken = true;
      errc = Errc::unavailable;
    }
    std::string msg = "mysql: ";
    if (errc == Errc::unavailable) msg += "lost connection to " + where_ + ": ";
    return database_error(errc, msg + e.what() + " (error " + std::to_string(code) + ")");
  }

  std::unique_ptr<sql::Connection> conn_;
  std::string where_;
  std::unordered_map<std::string, Prepared> statements_;
};

}  // namespace

std::unique_ptr<Connection> connect_mysql(const DbUrl& url, const DbConfig& cfg) {
  const std::string hostport = url.host + ":" + std::to_string(url.port);
  const std::string where = server_address(url) + "/" + url.database;
  sql::ConnectOptionsMap opts;
  opts["hostName"] =
      sql::SQLString(url.socket.empty() ? "tcp://" + hostport : "unix://" + url.socket);
  opts["userName"] = sql::SQLString(url.user);
  opts["password"] = sql::SQLString(url.password);
  opts["schema"] = sql::SQLString(url.database);
  opts["OPT_CONNECT_TIMEOUT"] =
      static_cast<int>(std::max<long long>(1, cfg.connect_timeout.count()));
  opts["OPT_RECONNECT"] = false;  // a silent reconnect would lose session settings and statements
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  opts["characterSetResults"] = sql::SQLString("utf8mb4");
  opts["CLIENT_FOUND_ROWS"] = true;  // UPDATE reports matched rows, as PostgreSQL does
  std::unique_ptr<sql::Connection> c;
  try {
    c.reset(driver()->connect(opts));
    std::unique_ptr<sql::Statement> st(c->createStatement());
    st->execute(kSqlMode);
    st->execute(kIsolation);
  } catch (const sql::SQLException& e) {
    const int code = e.getErrorCode();
    switch (classify(code)) {
      case Errc::unauthenticated:
        throw database_error(Errc::unauthenticated, "mysql: authentication failed for user '" +
                                                        url.user + "' at " + where + ": " +
                                                        e.what());
      case Errc::config:
        throw Error(Errc::config, "mysql: database '" + url.database + "' does not exist on " +
                                      server_address(url));
      case Errc::permission_denied:
        throw database_error(Errc::permission_denied,
                             std::string("mysql: ") + e.what() + " (" + where + ")");
      case Errc::unavailable:
        throw database_error(Errc::unavailable,
                             "mysql: cannot connect to " + server_address(url) + ": " + e.what());
      default:
        throw database_error(code >= 2000 && code < 3000 ? Errc::unavailable : Errc::database,
                             "mysql: cannot connect to " + where + ": " + e.what() + " (error " +
                                 std::to_string(code) + ")");
    }
  }
  return std::make_unique<MyConnection>(std::move(c), where);
}

}  // namespace ppi::db::detail
