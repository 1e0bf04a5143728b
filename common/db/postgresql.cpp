// PostgreSQL backend on libpq's C API: it gives exactly what the interface needs (protocol-level
// prepared statements, binary bytea parameters, SQLSTATE on every error) without a transaction
// object model that would fight Session::begin/commit.

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "db/connection.hpp"
#include "db/sql_text.hpp"

namespace ppi::db::detail {

namespace {

// Type OIDs from pg_type.h, stable across versions.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700,
              kFloat8 = 701;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

Errc classify_sqlstate(std::string_view st) {
  if (st == "23505" || st == "23503" || st == "23P01" || st == "23000" || st == "23001") {
    return Errc::conflict;
  }
  if (st == "23502" || st == "23514" || st.starts_with("22")) return Errc::invalid_argument;
  if (st == "40001" || st == "40P01" || st == "55P03") return Errc::conflict;
  if (st.starts_with("08") || st == "57P01" || st == "57P02" || st == "57P03") {
    return Errc::unavailable;
  }
  if (st.starts_with("28")) return Errc::unauthenticated;
  if (st == "42501") return Errc::permission_denied;
  return Errc::database;
}

// The gist of a libpq message: its first line, without the "connection to server at ...
// failed:" preamble (the caller names host and port) or the severity.
std::string first_line(std::string_view s) {
  std::string_view t = s.substr(0, s.find('\n'));
  if (t.starts_with("connection to server")) {
    if (const auto f = t.find(" failed: "); f != std::string_view::npos) t.remove_prefix(f + 9);
  }
  for (std::string_view sev : {"FATAL:  ", "ERROR:  "}) {
    if (t.starts_with(sev)) t.remove_prefix(sev.size());
  }
  return std::string(t);
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that round-trips
  return std::string(buf, r.ptr);
}

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* c, std::string where) : conn_(c), where_(std::move(where)) {
    // "already exists, skipping" and similar notices are not errors; keep them off stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::postgresql; }

  Result exec(std::string_view sql, const std::vector<Param>& params) override {
    PgResult r = exec_prepared(sql, params, kTextResults);
    return to_result(r.get());
  }

  std::optional<Blob> read_blob(std::string_view sql, const std::vector<Param>& params) override {
    PgResult r = exec_prepared(sql, params, kBinaryResults);
    if (PQntuples(r.get()) == 0) return std::nullopt;
    if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1 || PQftype(r.get(), 0) != kBytea ||
        PQgetisnull(r.get(), 0, 0)) {
      throw Error(Errc::database, "read_blob: the query must return one non-NULL bytea column");
    }
    // A binary bytea cell is the raw bytes; the result owns them until the Blob is wiped.
    std::span<std::uint8_t> bytes(reinterpret_cast<std::uint8_t*>(PQgetvalue(r.get(), 0, 0)),
                                  static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)));
    return Blob(
        std::shared_ptr<void>(r.release(), [](void* p) { PQclear(static_cast<PGresult*>(p)); }),
        bytes);
  }

  void exec_ddl(std::string_view sql) override {
    PgResult r(PQexec(conn_, std::string(sql).c_str()));
    check(r.get(), "");
  }

  bool alive() noexcept override {
    PgResult r(PQexec(conn_, ""));
    const bool ok = r && PQresultStatus(r.get()) == PGRES_EMPTY_QUERY;
    if (!ok) broken = true;
    return ok;
  }

 private:
  static constexpr int kTextResults = 0, kBinaryResults = 1;

  // Parameters go as text, except bytea, which goes in binary.
  PgResult exec_prepared(std::string_view sql, const std::vector<Param>& params,
                         int result_format) {
    const std::string& name = prepare(sql);
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0), formats(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Param& p = params[i];
      if (auto v = std::get_if<std::int64_t>(&p)) {
        text[i] = std::to_string(*v);
      } else if (auto d = std::get_if<double>(&p)) {
        text[i] = format_double(*d);
      } else if (auto s = std::get_if<std::string>(&p)) {
        // Text parameters travel NUL-terminated; a NUL inside would silently cut the value.
        if (s->find('\0') != std::string::npos) {
          throw Error(Errc::invalid_argument, "postgresql: text parameter " +
                                                  std::to_string(i + 1) + " contains a NUL byte");
        }
        values[i] = s->c_str();
        continue;
      } else if (auto b = std::get_if<Bytes>(&p)) {
        static const char empty = 0;  // non-null pointer: an empty bytea, not NULL
        values[i] = b->empty() ? &empty : reinterpret_cast<const char*>(b->data());
        lengths[i] = static_cast<int>(b->size());
        formats[i] = 1;
        continue;
      } else {
        continue;  // NULL
      }
      values[i] = text[i].c_str();
    }
    PgResult r(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(),
                              lengths.data(), formats.data(), result_format));
    check(r.get(), "");
    return r;
  }

  // The cached statement name for this SQL text, preparing it on first use.
  const std::string& prepare(std::string_view sql) {
    const std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second;
    std::string name = "ppi_" + std::to_string(statements_.size() + 1);
    PgResult r(PQprepare(conn_, name.c_str(), to_dollar_placeholders(sql).c_str(), 0, nullptr));
    check(r.get(), " (preparing statement)");
    return statements_.emplace(key, std::move(name)).first->second;
  }

  void check(PGresult* r, const char* context) {
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    Errc code = state ? classify_sqlstate(state) : Errc::database;
    if (PQstatus(conn_) != CONNECTION_OK) code = Errc::unavailable;
    if (code == Errc::unavailable) broken = true;
    std::string msg = "postgresql: ";
    if (code == Errc::unavailable) msg += "lost connection to " + where_ + ": ";
    msg += primary ? std::string(primary) : first_line(PQerrorMessage(conn_));
    if (state) msg += std::string(" (SQLSTATE ") + state + ")";
    throw database_error(code, msg + context);
  }

  static Result to_result(PGresult* r) {
    Result out;
    const char* affected = PQcmdTuples(r);
    if (affected && *affected)
      std::from_chars(affected, affected + std::strlen(affected), out.affected);
    const int rows = PQntuples(r), cols = PQnfields(r);
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(cols));
      for (int j = 0; j < cols; ++j) values.push_back(cell(r, i, j));
      out.rows.emplace_back(std::move(values));
    }
    if (PQresultStatus(r) == PGRES_TUPLES_OK && out.affected == 0) out.affected = out.rows.size();
    return out;
  }

  // Results come in text format; each cell becomes the Value its column type calls for.
  static Value cell(PGresult* r, int i, int j) {
    if (PQgetisnull(r, i, j)) return nullptr;
    const char* v = PQgetvalue(r, i, j);
    const std::size_t n = static_cast<std::size_t>(PQgetlength(r, i, j));
    switch (PQftype(r, j)) {
      case kInt8:
      case kInt4:
      case kInt2:
      case kOid: {
        std::int64_t x = 0;
        std::from_chars(v, v + n, x);
        return x;
      }
      case kFloat4:
      case kFloat8: {
        const std::string_view t(v, n);
        if (t == "NaN") return std::nan("");
        if (t == "Infinity") return HUGE_VAL;
        if (t == "-Infinity") return -HUGE_VAL;
        double x = 0;
        std::from_chars(v, v + n, x);
        return x;
      }
      case kBool:
        return std::int64_t{n > 0 && v[0] == 't'};
      case kBytea: {
        std::size_t len = 0;
        unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &len);
        if (!raw) throw Error(Errc::database, "postgresql: out of memory decoding bytea");
        Bytes b(raw, raw + len);
        PQfreemem(raw);
        return b;
      }
      default:
        return std::string(v, n);
    }
  }

  PGconn* conn_;
  std::string where_;  // host:port/database, for messages
  std::unordered_map<std::string, std::string> statements_;
};

}  // namespace

std::unique_ptr<Connection> connect_postgresql(const DbUrl& url, const DbConfig& cfg) {
  const std::string port = std::to_string(url.port);
  const std::string timeout = std::to_string(std::max<long long>(1, cfg.connect_timeout.count()));
  const std::string server = server_address(url);
  const std::string where = server + "/" + url.database;
  const char* keys[] = {"host",
                        "port",
                        "user",
                        "password",
                        "dbname",
                        "connect_timeout",
                        "client_encoding",
                        "options",
                        "application_name",
                        nullptr};
  // libpq takes a directory as the host to connect over the Unix-domain socket in it.
  const char* values[] = {url.socket.empty() ? url.host.c_str() : url.socket.c_str(),
                          port.c_str(),
                          url.user.c_str(),
                          url.password.c_str(),
                          url.database.c_str(),
                          timeout.c_str(),
                          "UTF8",
                          "-c TimeZone=UTC -c default_transaction_isolation=read\\ committed",
                          "ppi",
                          nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 0);
  if (!c)
    throw database_error(Errc::unavailable, "postgresql: out of memory connecting to " + where);
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string why = first_line(PQerrorMessage(c));
    PQfinish(c);
    // libpq reports connection failures as text only; classify by the server's wording.
    const auto has = [&](std::string_view s) { return why.find(s) != std::string::npos; };
    if (has("password authentication failed") || has("no password supplied") ||
        has("authentication failed")) {
      throw database_error(Errc::unauthenticated, "postgresql: authentication failed for user '" +
                                                      url.user + "' at " + where + ": " + why);
    }
    if (has("database \"") && has("does not exist")) {
      throw Error(Errc::config,
                  "postgresql: database '" + url.database + "' does not exist on " + server);
    }
    if (has("permission denied")) {
      throw database_error(Errc::permission_denied, "postgresql: " + why + " (" + where + ")");
    }
    throw database_error(Errc::unavailable, "postgresql: cannot connect to " + server + ": " + why);
  }
  return std::make_unique<PgConnection>(c, where);
}

}  // namespace ppi::db::detail
