#include "net/connection_table.hpp"

#include <algorithm>

namespace ppi::net {

namespace {

void run_all(const std::vector<ConnectionTable::Closer>& closers) {
  for (const auto& close : closers) close();
}

}  // namespace

std::optional<std::uint64_t> ConnectionTable::victim(
    const std::function<bool(const Entry&)>& eligible) const {
  std::optional<std::uint64_t> best;
  const Entry* best_entry = nullptr;
  for (const auto& [id, entry] : entries_) {
    if (entry.phase == Phase::working || !eligible(entry)) continue;
    const bool better =
        !best_entry || (entry.phase == Phase::handshake && best_entry->phase != Phase::handshake) ||
        (entry.phase == best_entry->phase && entry.since < best_entry->since);
    if (better) {
      best = id;
      best_entry = &entry;
    }
  }
  return best;
}

void ConnectionTable::evict(std::uint64_t id, std::vector<Closer>& closers) {
  auto it = entries_.find(id);
  closers.push_back(std::move(it->second.closer));
  entries_.erase(it);
  ++evicted_;
}

std::optional<std::uint64_t> ConnectionTable::admit(Phase phase, Closer closer) {
  std::vector<Closer> closers;
  std::optional<std::uint64_t> admitted;
  {
    std::lock_guard lock(mutex_);
    bool room = entries_.size() < limits_.max_connections;
    if (!room) {
      if (auto v = victim([](const Entry&) { return true; })) {
        evict(*v, closers);
        room = true;
      }
    }
    if (room && phase == Phase::handshake) {
      const auto handshakes = static_cast<std::size_t>(
          std::count_if(entries_.begin(), entries_.end(),
                        [](const auto& kv) { return kv.second.phase == Phase::handshake; }));
      if (handshakes >= limits_.max_handshakes) {
        if (auto v = victim([](const Entry& e) { return e.phase == Phase::handshake; })) {
          evict(*v, closers);
        }
      }
    }
    if (room) {
      admitted = next_id_++;
      entries_.emplace(*admitted,
                       Entry{phase, std::chrono::steady_clock::now(), {}, std::move(closer)});
    }
  }
  run_all(closers);
  return admitted;
}

bool ConnectionTable::identify(std::uint64_t id, const std::string& peer) {
  std::vector<Closer> closers;
  bool admitted = true;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;  // evicted meanwhile
    const auto same_peer = [&](const Entry& e) { return e.peer == peer; };
    const auto held = static_cast<std::size_t>(std::count_if(
        entries_.begin(), entries_.end(), [&](const auto& kv) { return same_peer(kv.second); }));
    if (held >= limits_.max_per_peer) {
      if (auto v = victim(same_peer)) {
        evict(*v, closers);
      } else {
        admitted = false;
      }
    }
    if (admitted) {
      it->second.peer = peer;
      it->second.phase = Phase::waiting;
      it->second.since = std::chrono::steady_clock::now();
    }
  }
  run_all(closers);
  return admitted;
}

void ConnectionTable::set_phase(std::uint64_t id, Phase phase) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.phase = phase;
  it->second.since = std::chrono::steady_clock::now();
}

void ConnectionTable::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  entries_.erase(id);
}

bool ConnectionTable::evict_one() {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mutex_);
    auto v = victim([](const Entry&) { return true; });
    if (!v) return false;
    evict(*v, closers);
  }
  run_all(closers);
  return true;
}

std::size_t ConnectionTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::uint64_t ConnectionTable::evicted() const {
  std::lock_guard lock(mutex_);
  return evicted_;
}

}  // namespace ppi::net
