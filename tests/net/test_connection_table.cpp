// The REST server's connection bounds (net/connection_table.hpp): who gives way when a bound
// is reached. Stalled handshakes before waiting connections, the longest-waiting first, and a
// connection doing work never.
#include <doctest/doctest.h>

#include <set>

#include "net/connection_table.hpp"

using ppi::net::ConnectionLimits;
using ppi::net::ConnectionTable;
using Phase = ConnectionTable::Phase;

namespace {

// Admits connections and records which ones were closed.
struct Table {
  explicit Table(ConnectionLimits limits) : table(limits) {}
  ConnectionTable table;
  std::set<std::uint64_t> closed;
  std::uint64_t next_label = 0;

  std::optional<std::uint64_t> admit(Phase phase) {
    const auto label = next_label++;
    auto id = table.admit(phase, [this, label] { closed.insert(label); });
    return id;
  }
};

ConnectionLimits limits(std::size_t all, std::size_t handshakes, std::size_t per_peer) {
  ConnectionLimits l;
  l.max_connections = all;
  l.max_handshakes = handshakes;
  l.max_per_peer = per_peer;
  return l;
}

}  // namespace

TEST_CASE("connection table: a full table evicts a stalled handshake before a waiting one") {
  Table t(limits(3, 10, 10));
  const auto waiting = t.admit(Phase::waiting);      // label 0
  const auto handshake = t.admit(Phase::handshake);  // label 1
  const auto working = t.admit(Phase::working);      // label 2
  REQUIRE((waiting && handshake && working));
  REQUIRE(t.admit(Phase::handshake));  // label 3: room made by closing label 1
  CHECK(t.closed == std::set<std::uint64_t>{1});
  CHECK(t.table.size() == 3);
  REQUIRE(t.admit(Phase::waiting));  // label 4: the handshake (label 3) gives way first
  CHECK(t.closed == std::set<std::uint64_t>{1, 3});
  REQUIRE(t.admit(Phase::waiting));  // label 5: now the longest-waiting (label 0)
  CHECK(t.closed == std::set<std::uint64_t>{0, 1, 3});
  CHECK(t.table.evicted() == 3);
}

TEST_CASE("connection table: connections doing work are never evicted; a new one is refused") {
  Table t(limits(2, 10, 10));
  REQUIRE(t.admit(Phase::working));
  const auto second = t.admit(Phase::waiting);
  REQUIRE(second);
  t.table.set_phase(*second, Phase::working);
  CHECK_FALSE(t.admit(Phase::handshake));
  CHECK(t.closed.empty());
  t.table.remove(*second);
  CHECK(t.admit(Phase::handshake));
}

TEST_CASE("connection table: handshakes beyond their bound close the oldest handshake") {
  Table t(limits(100, 2, 10));
  REQUIRE(t.admit(Phase::handshake));  // 0
  REQUIRE(t.admit(Phase::handshake));  // 1
  REQUIRE(t.admit(Phase::waiting));    // 2: not a handshake, not counted
  REQUIRE(t.admit(Phase::handshake));  // 3: closes 0
  CHECK(t.closed == std::set<std::uint64_t>{0});
  CHECK(t.table.size() == 3);
}

TEST_CASE("connection table: a peer over its bound gives way itself, or is refused") {
  Table t(limits(100, 100, 2));
  const auto a = t.admit(Phase::handshake);      // 0
  const auto b = t.admit(Phase::handshake);      // 1
  const auto c = t.admit(Phase::handshake);      // 2
  const auto other = t.admit(Phase::handshake);  // 3
  REQUIRE((a && b && c && other));
  CHECK(t.table.identify(*a, "client"));
  CHECK(t.table.identify(*b, "client"));
  CHECK(t.table.identify(*other, "dealer-1"));  // other peers are not counted
  CHECK(t.table.identify(*c, "client"));        // closes the longest-waiting of client's: a
  CHECK(t.closed == std::set<std::uint64_t>{0});
  t.table.set_phase(*b, Phase::working);
  t.table.set_phase(*c, Phase::working);
  const auto d = t.admit(Phase::handshake);
  REQUIRE(d);
  CHECK_FALSE(t.table.identify(*d, "client"));  // both of client's are working
  CHECK(t.closed == std::set<std::uint64_t>{0});
  CHECK_FALSE(t.table.identify(*a, "client"));  // an evicted connection is gone
}

TEST_CASE("connection table: evict_one frees the longest-waiting idle connection") {
  Table t(limits(100, 100, 100));
  REQUIRE(t.admit(Phase::working));
  CHECK_FALSE(t.table.evict_one());
  REQUIRE(t.admit(Phase::waiting));
  CHECK(t.table.evict_one());
  CHECK(t.closed == std::set<std::uint64_t>{1});
}
