#pragma once
// The REST server's bookkeeping of open connections and its bounds on them (issue 15 item 1).
// A hostile peer can open connections faster than timeouts close them; the bounds decide who
// gives way, so that legitimate callers keep being served:
// - at most max_connections in all: a new connection evicts the one that has waited longest
//   in a phase that does no work (a TLS handshake first, then a wait for request bytes);
//   when every connection is working, the new one is refused;
// - at most max_handshakes still in their TLS handshake (unauthenticated, nobody to blame):
//   beyond it the oldest handshake is evicted. A real handshake takes milliseconds, so the
//   evicted ones are the stalled ones;
// - at most max_per_peer per verified identity: beyond it that peer's longest-waiting
//   connection gives way, or, when all of them are working, the new one is refused.
// Thread-safe; eviction calls the connection's closer outside the lock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ppi::net {

struct ConnectionLimits {
  std::size_t max_connections = 1024;
  std::size_t max_handshakes = 128;
  std::size_t max_per_peer = 64;
};

class ConnectionTable {
 public:
  enum class Phase {
    handshake,  // TLS handshake, peer unknown
    waiting,    // waiting for (the rest of) a request
    working,    // a request is being handled or its answer written: never evicted
  };
  // Closes the connection from any thread (it posts the close to the connection's strand).
  using Closer = std::function<void()>;

  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  // Registers a new connection; nullopt when it must be refused (every slot is working).
  std::optional<std::uint64_t> admit(Phase phase, Closer closer);
  // The connection's verified identity; false when the peer is over its bound and none of
  // its other connections could give way (the caller then refuses this one).
  bool identify(std::uint64_t id, const std::string& peer);
  void set_phase(std::uint64_t id, Phase phase);
  void remove(std::uint64_t id);
  // Evicts the longest-waiting connection that does no work (to free a descriptor when
  // accept runs out of them); false when there is none.
  bool evict_one();

  std::size_t size() const;
  std::uint64_t evicted() const;

 private:
  struct Entry {
    Phase phase;
    std::chrono::steady_clock::time_point since;
    std::string peer;
    Closer closer;
  };
  // The entry to evict among those matching `eligible`: handshakes before waits, then the
  // longest in its phase. Caller holds the lock.
  std::optional<std::uint64_t> victim(const std::function<bool(const Entry&)>& eligible) const;
  // Removes the entry and queues its closer. Caller holds the lock.
  void evict(std::uint64_t id, std::vector<Closer>& closers);

  const ConnectionLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 1;
  std::uint64_t evicted_ = 0;
};

}  // namespace ppi::net
