#pragma once
// An actor's ledger (docs/audit.md): the one place through which its batches change state.
// Each change writes the row's new state and appends an audit event in the caller's
// transaction, so a state is never seen without its event nor an event without its state.
//
// States are one enum per table: an actor declares its table once,
//   constexpr ledger::StateTable<BatchState, 7> kBatches{"batches", "batch_id", {...names}};
// and no SQL of its names a state literally; the names bound as parameters come from here.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "db/database.hpp"
#include "ledger/event.hpp"

namespace ppi::ledger {

// The identity written as `actor` on every event this process appends: the CN of its
// certificate, set once at start-up (app::open_database); "" in tests that open stores by hand.
void set_actor_identity(std::string identity);
std::string actor_identity();

// Appends one event; call inside the transaction that makes the change it records.
void append(db::Session& s, std::string_view batch_id, Event event, std::string_view peer,
            const nlohmann::json& details = nlohmann::json::object());

struct Query {
  std::optional<std::string> batch_id;
  std::optional<std::int64_t> since_ms;  // events at or after this time
  std::int64_t after_id = 0;             // events with a larger id (paging)
  std::int64_t limit = 10000;
};
std::vector<AuditRecord> read(db::Session& s, const Query& q);

namespace detail {
bool move_state(db::Session& s, std::string_view table, std::string_view key, std::string_view id,
                const std::string& to, Event event, std::string_view peer,
                const nlohmann::json& details, const std::optional<std::string>& from);
}  // namespace detail

// The state column of one table, as an enum with its names.
template <typename State, std::size_t N>
struct StateTable {
  std::string_view table;  // identifiers chosen by code (checked by db::detail::is_identifier)
  std::string_view key;
  std::array<std::string_view, N> names;  // indexed by the enum's value

  std::string name(State s) const { return std::string(names.at(static_cast<std::size_t>(s))); }
  // Error(database) for a value the table's CHECK constraint should have refused.
  State parse(std::string_view text) const {
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == text) return static_cast<State>(i);
    }
    throw Error(Errc::database,
                std::string(table) + " holds an unknown state '" + std::string(text) + "'");
  }
  // Moves one row to `to` and appends `event`; the caller has locked the row (or holds the
  // transaction that inserted it) and checked that the move is allowed.
  void move(db::Session& s, std::string_view id, State to, Event event, std::string_view peer,
            const nlohmann::json& details = nlohmann::json::object()) const {
    detail::move_state(s, table, key, id, name(to), event, peer, details, std::nullopt);
  }
  // The same, only if the row is in state `from` now (one conditional UPDATE, so that of two
  // concurrent movers one wins); false, with nothing written, when it is not.
  bool move_from(db::Session& s, std::string_view id, State from, State to, Event event,
                 std::string_view peer,
                 const nlohmann::json& details = nlohmann::json::object()) const {
    return detail::move_state(s, table, key, id, name(to), event, peer, details, name(from));
  }
};

}  // namespace ppi::ledger
