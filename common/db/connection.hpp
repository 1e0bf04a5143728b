#pragma once
// The internals behind Database and Session: one backend connection, and the pool that owns
// them. Not part of the public API.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "db/database.hpp"

namespace ppi::db::detail {

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  virtual Result exec(std::string_view sql, const std::vector<Param>& params) = 0;
  virtual void exec_ddl(std::string_view sql) = 0;
  // Session::read_blob. This default goes through exec() and owns the copied value; a backend
  // that can hand out its own buffer overrides it.
  virtual std::optional<Blob> read_blob(std::string_view sql, const std::vector<Param>& params);
  // One round trip; false when the connection is gone.
  virtual bool alive() noexcept = 0;

  bool broken = false;  // set by a backend when the connection was lost: never reused
  bool in_transaction = false;
  std::chrono::steady_clock::time_point idle_since;
};

// Backends. Both throw Error with the classification documented in database.hpp.
std::unique_ptr<Connection> connect_postgresql(const DbUrl& url, const DbConfig& cfg);
std::unique_ptr<Connection> connect_mysql(const DbUrl& url, const DbConfig& cfg);

// Rejects a parameter count that does not match the placeholders: a bug in the caller.
void check_param_count(std::string_view sql, std::size_t params);

// An error of the database itself (connecting, a statement, the pool): its message names the
// server, the database and the statement, for this actor's log; peers are told only what kind
// of failure it was, by the actor that had it (core/error.hpp, issue 15 item 5).
Error database_error(Errc code, const std::string& detail);

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(DbUrl url, DbConfig cfg);
  Dialect dialect() const { return url_.dialect; }
  // A connection, waiting up to acquire_timeout; idle ones are validated, broken ones replaced.
  std::unique_ptr<Connection> take();
  // Back into the pool (rolled back first if a transaction was left open), or dropped.
  void give_back(std::unique_ptr<Connection> conn) noexcept;

 private:
  std::unique_ptr<Connection> connect();
  void forget_one() noexcept;

  DbUrl url_;
  DbConfig cfg_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections that exist: idle plus leased plus being made
};

}  // namespace ppi::db::detail
