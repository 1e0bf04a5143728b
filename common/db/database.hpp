#pragma once
// One storage interface over two real backends, PostgreSQL (libpq) and MariaDB/MySQL
// (mysql-connector-c++). Callers write one SQL text with '?' placeholders and pass values as
// parameters, never pasted into the SQL. A Database is a bounded pool of connections; a Session
// is one leased connection, returned to the pool when it goes out of scope.
//
// Errors are ppi::Error: unique/foreign-key violations -> conflict; too long, invalid UTF-8,
// out of range, NULL in a NOT NULL column, CHECK violations -> invalid_argument; lost
// connection -> unavailable; bad credentials -> unauthenticated; deadlock / serialization
// failure -> conflict (retry the transaction); anything else -> database.
//
// Both dialects are set up alike: UTF-8 (utf8mb4), UTC, READ COMMITTED; MariaDB sessions also
// run in strict sql_mode with ANSI_QUOTES (so "x" is an identifier in both) and report matched
// rather than changed rows, so Result::affected means the same thing in both. Text values
// may not contain NUL (PostgreSQL cannot store it), so it is refused in both.
// This header also brings in db/migrate.hpp (migrations) and db/chunks.hpp (chunked blobs).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ppi::db {

enum class Dialect { postgresql, mysql };
std::string_view dialect_name(Dialect d);  // "postgresql" / "mysql"
// A SQL expression for the TIMESTAMPTZ / DATETIME `column` (UTC) as Unix milliseconds, a
// BIGINT (NULL stays NULL), in either dialect: for answers that give times as RFC 3339
// (ledger::rfc3339_ms), never as the database's own text.
std::string unix_ms_sql(Dialect d, std::string_view column);

struct DbConfig {
  // postgresql://user:pass@host:port/dbname or mysql://user:pass@host:port/dbname; user and
  // password are percent-decoded; the port defaults to 5432 / 3306; host may be [v6-address].
  // A server on the same machine may be reached over its Unix-domain socket instead of TCP:
  // append ?socket=/absolute/path (PostgreSQL: the directory that holds .s.PGSQL.<port>;
  // MariaDB: the socket file); host and port then only name the server in messages.
  std::string url{};
  std::size_t pool_size = 4;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::seconds connect_timeout{5};
  // A connection idle in the pool for longer than this is checked (one round trip) before it
  // is handed out, so a server restart is noticed before the caller's first statement.
  std::chrono::milliseconds validate_after_idle{5000};
};

// The parts of a database url. Throws Error(config) for a malformed url; the message shows the
// url with the password replaced by "***".
struct DbUrl {
  Dialect dialect = Dialect::postgresql;
  std::string user;
  std::string password;
  std::string host;
  std::uint16_t port = 0;
  std::string database;
  std::string socket;  // empty: TCP to host:port
};
DbUrl parse_db_url(std::string_view url);
// Where a url's server is, for messages: "host:port", or "host:port via /the/socket".
std::string server_address(const DbUrl& url);
// The url with any password replaced by "***": safe for logs and error messages.
std::string redact_url(std::string_view url);

// A parameter, and a value read back. Bytes are BYTEA / BLOB, sent and received as binary.
using Param = std::variant<std::nullptr_t, std::int64_t, double, std::string, Bytes>;
using Value = Param;

class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  std::size_t size() const { return values_.size(); }
  bool is_null(std::size_t i) const;
  // Each getter converts where it is lossless (an integer column read as a string, a DECIMAL
  // read as an integer...) and throws Error(database) on NULL or an impossible conversion.
  std::int64_t get_int(std::size_t i) const;
  double get_double(std::size_t i) const;
  std::string get_string(std::size_t i) const;
  Bytes get_bytes(std::size_t i) const;
  // Moves a binary value out of the row (no copy of a large blob); the cell becomes NULL.
  Bytes take_bytes(std::size_t i);
  const Value& value(std::size_t i) const;

 private:
  std::vector<Value> values_;
};

struct Result {
  std::vector<Row> rows;
  std::uint64_t affected = 0;  // rows inserted, updated (matched) or deleted; rows returned
};

// One BYTEA / LONGBLOB value left in the driver's result buffer, so a large blob is read
// without a copy (and, on PostgreSQL, without the hex text encoding: it is fetched in binary
// result format). The bytes are wiped when the Blob is destroyed: blobs hold shares.
class Blob {
 public:
  Blob(std::shared_ptr<void> owner, std::span<std::uint8_t> bytes)
      : owner_(std::move(owner)), bytes_(bytes) {}
  Blob(Blob&& o) noexcept
      : owner_(std::move(o.owner_)), bytes_(std::exchange(o.bytes_, {})), wipe_(o.wipe_) {}
  Blob& operator=(Blob&& o) noexcept;
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  ~Blob();

  ByteView view() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  // The bytes, to be overwritten in place (e.g. masked): the driver's copy is this one.
  std::span<std::uint8_t> mutable_view() { return bytes_; }
  // The caller has overwritten or wiped every byte: the destructor need not wipe them again.
  void contents_wiped() { wipe_ = false; }

 private:
  std::shared_ptr<void> owner_;  // the driver's result, freed after the wipe
  std::span<std::uint8_t> bytes_;
  bool wipe_ = true;
};

namespace detail {
class Connection;
class Pool;
}  // namespace detail

// A leased connection; returned to the pool on destruction (rolled back first if a transaction
// is still open; dropped if it broke). Not thread-safe: one Session per thread at a time.
class Session {
 public:
  Session(std::shared_ptr<detail::Pool> pool, std::unique_ptr<detail::Connection> conn);
  Session(Session&&) noexcept;
  Session& operator=(Session&&) = delete;
  ~Session();

  Dialect dialect() const;
  // One statement with '?' placeholders (in both dialects), prepared once per connection and
  // cached by its text: keep SQL texts constant and pass every value as a parameter.
  Result exec(std::string_view sql, const std::vector<Param>& params = {});
  // One statement without parameters, sent unprepared: DDL and administration (migrations,
  // test set-up). Never for SQL that contains a value from outside the program.
  void exec_ddl(std::string_view sql);
  // A query that selects one BYTEA / LONGBLOB column and at most one row: its value, or
  // nullopt when there is no row. Throws Error(database) for a NULL value or any other shape.
  std::optional<Blob> read_blob(std::string_view sql, const std::vector<Param>& params);

  void begin();
  void commit();
  void rollback();
  bool in_transaction() const;

 private:
  std::shared_ptr<detail::Pool> pool_;
  std::unique_ptr<detail::Connection> conn_;
};

// RAII transaction: begins in the constructor, rolls back in the destructor unless commit()
// was called.
class Transaction {
 public:
  explicit Transaction(Session& s);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Session& session_;
  bool done_ = false;
};

class Database {
 public:
  // Opens the pool and makes the first connection at once, so that a wrong password
  // (unauthenticated), an unreachable server (unavailable, naming host:port), an unknown
  // database (config) or a malformed url (config) is one clear error at start-up.
  static std::shared_ptr<Database> open(const DbConfig& cfg);

  Dialect dialect() const;
  // Waits up to acquire_timeout for a free connection, then throws Error(unavailable,
  // "connection pool exhausted ...").
  Session acquire();
  // SELECT 1 on a leased connection; throws on failure.
  void ping();

  explicit Database(std::shared_ptr<detail::Pool> pool) : pool_(std::move(pool)) {}  // use open()

 private:
  std::shared_ptr<detail::Pool> pool_;
};

}  // namespace ppi::db

// The rest of the storage API, so that "db/database.hpp" is the one header to include. Kept at
// the end: both headers include this one for the types above.
#include "db/chunks.hpp"   // IWYU pragma: export
#include "db/migrate.hpp"  // IWYU pragma: export
