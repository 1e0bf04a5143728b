#include "dealer/group_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

std::vector<std::string> parse_members(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

X25519Key to_key(const Bytes& b) {
  if (b.size() != kX25519KeySize) throw Error(Errc::internal, "stored X25519 key has a bad size");
  X25519Key k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

GroupRecord record_of(const db::Row& row, const std::string& group_id) {
  GroupRecord g;
  g.group_id = group_id;
  g.members = parse_members(row.get_string(0));
  g.self = static_cast<std::size_t>(row.get_int(1));
  g.state = row.get_string(2);
  g.public_key = to_key(row.get_bytes(3));
  return g;
}

}  // namespace

Bytes serialize_group_keys(const gen::GroupKeys& keys) {
  Bytes out{static_cast<std::uint8_t>(keys.parties), static_cast<std::uint8_t>(keys.self)};
  for (const auto* list : {&keys.component_keys, &keys.pair_keys}) {
    for (const auto& k : *list) {
      out.push_back(k ? 1 : 0);
      Seed128 zero;
      const auto& bytes = k ? k->bytes : zero.bytes;
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
  }
  return out;
}

gen::GroupKeys parse_group_keys(ByteView bytes) {
  if (bytes.size() < 2) throw Error(Errc::crypto, "group keys: blob too short");
  gen::GroupKeys keys;
  keys.parties = bytes[0];
  keys.self = bytes[1];
  if (bytes.size() != 2 + 2 * 17 * keys.parties || keys.self >= keys.parties) {
    throw Error(Errc::crypto, "group keys: malformed blob");
  }
  std::size_t at = 2;
  for (auto* list : {&keys.component_keys, &keys.pair_keys}) {
    list->resize(keys.parties);
    for (auto& k : *list) {
      if (bytes[at] == 1) {
        k.emplace();
        std::copy(bytes.begin() + at + 1, bytes.begin() + at + 17, k->bytes.begin());
      }
      at += 17;
    }
  }
  return keys;
}

GroupStore::GroupStore(std::shared_ptr<db::Database> db, std::string dealer_id,
                       std::optional<MasterKey> master_key)
    : db_(std::move(db)), dealer_id_(std::move(dealer_id)), master_key_(std::move(master_key)) {}

const MasterKey& GroupStore::master() const {
  if (!master_key_) {
    throw Error(Errc::config, "this dealer has no keys.master_key_file: it cannot hold group keys");
  }
  return *master_key_;
}

std::string GroupStore::aad(const std::string& group_id, const char* role) const {
  return std::string("ppi-dealer-group-v1|") + dealer_id_ + "|" + group_id + "|" + role;
}

GroupRecord GroupStore::create(const std::string& group_id,
                               const std::vector<std::string>& members) {
  auto self = std::find(members.begin(), members.end(), dealer_id_);
  if (self == members.end()) {
    throw Error(Errc::invalid_argument, "dealer " + dealer_id_ + " is not a member of the group");
  }
  const std::string members_json = nlohmann::json(members).dump();
  if (auto existing = find(group_id)) {
    if (existing->members != members) {
      throw Error(Errc::conflict, "group " + group_id + " exists with other members");
    }
    return *existing;
  }
  const MasterKey& key = master();
  X25519KeyPair pair = X25519KeyPair::generate();
  Seed128 drawn = random_seed();
  Bytes private_sealed = key.seal(pair.private_key, aad(group_id, "x25519"));
  Bytes drawn_sealed = key.seal(drawn.bytes, aad(group_id, "drawn"));
  const auto index = static_cast<std::int64_t>(self - members.begin());
  auto s = db_->acquire();
  db::Transaction tx(s);
  // Two concurrent creations: the primary key lets one in, the other reads it back.
  auto r = s.exec("SELECT members FROM dealer_groups WHERE group_id = ? FOR UPDATE", {group_id});
  if (r.rows.empty()) {
    s.exec(
        "INSERT INTO dealer_groups (group_id, members, self_index, state, x25519_private_sealed, "
        "x25519_public, drawn_key_sealed) VALUES (?, ?, ?, 'forming', ?, ?, ?)",
        {group_id, members_json, index, private_sealed,
         Bytes(pair.public_key.begin(), pair.public_key.end()), drawn_sealed});
    tx.commit();
    log::info("group_joined", {{"group_id", group_id}, {"index", std::to_string(index)}});
  }
  auto found = find(group_id);
  if (!found || found->members != members) {
    throw Error(Errc::conflict, "group " + group_id + " exists with other members");
  }
  return *found;
}

std::optional<GroupRecord> GroupStore::find(const std::string& group_id) {
  auto s = db_->acquire();
  auto r = s.exec(
      "SELECT members, self_index, state, x25519_public FROM dealer_groups WHERE group_id = ?",
      {group_id});
  if (r.rows.empty()) return std::nullopt;
  return record_of(r.rows[0], group_id);
}

X25519KeyPair GroupStore::private_key(const GroupRecord& group) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT x25519_private_sealed FROM dealer_groups WHERE group_id = ?",
                  {group.group_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown group " + group.group_id);
  Bytes raw = master().open(r.rows[0].get_bytes(0), aad(group.group_id, "x25519"));
  if (raw.size() != kX25519KeySize) throw Error(Errc::crypto, "sealed X25519 key has a bad size");
  X25519KeyPair pair =
      X25519KeyPair::from_private(std::span<const std::uint8_t, kX25519KeySize>(raw.data(), 32));
  cleanse(raw);
  return pair;
}

Seed128 GroupStore::drawn_key(const GroupRecord& group) {
  auto s = db_->acquire();
  auto r =
      s.exec("SELECT drawn_key_sealed FROM dealer_groups WHERE group_id = ?", {group.group_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown group " + group.group_id);
  Bytes raw = master().open(r.rows[0].get_bytes(0), aad(group.group_id, "drawn"));
  if (raw.size() != 16) throw Error(Errc::crypto, "sealed component key has a bad size");
  Seed128 key;
  std::copy(raw.begin(), raw.end(), key.bytes.begin());
  cleanse(raw);
  return key;
}

void GroupStore::store_keys(const GroupRecord& group, const gen::GroupKeys& keys) {
  Bytes plain = serialize_group_keys(keys);
  Bytes sealed = master().seal(plain, aad(group.group_id, "keys"));
  cleanse(plain);
  auto s = db_->acquire();
  s.exec(
      "UPDATE dealer_groups SET keys_sealed = ?, state = 'ready', ready_at = CURRENT_TIMESTAMP "
      "WHERE group_id = ?",
      {sealed, group.group_id});
  log::info("group_ready", {{"group_id", group.group_id}});
}

gen::GroupKeys GroupStore::keys(const std::string& group_id) {
  auto s = db_->acquire();
  auto r = s.exec("SELECT state, keys_sealed FROM dealer_groups WHERE group_id = ?", {group_id});
  if (r.rows.empty()) throw Error(Errc::not_found, "unknown group " + group_id);
  if (r.rows[0].get_string(0) != "ready" || r.rows[0].is_null(1)) {
    throw Error(Errc::conflict, "group " + group_id + " has not agreed its keys yet");
  }
  Bytes plain = master().open(r.rows[0].get_bytes(1), aad(group_id, "keys"));
  gen::GroupKeys keys = parse_group_keys(plain);
  cleanse(plain);
  return keys;
}

}  // namespace ppi::dealer
