#pragma once
// The dealer's record of the groups it belongs to (PROTOCOL.md section 4), with every key
// sealed under the dealer's master key (sealing.hpp): the group's X25519 private key, the
// component key K_{self-1} this member drew at formation, and gen::GroupKeys once the key
// agreement is done. The AAD of each blob names the dealer, the group and the blob's role.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/csprng.hpp"
#include "crypto/x25519.hpp"
#include "db/database.hpp"
#include "dealer/sealing.hpp"
#include "gen/group_keys.hpp"

namespace ppi::dealer {

struct GroupRecord {
  std::string group_id;
  std::vector<std::string> members;  // the group's order
  std::size_t self = 0;
  std::string state;  // forming | ready
  X25519Key public_key{};
};

class GroupStore {
 public:
  GroupStore(std::shared_ptr<db::Database> db, std::string dealer_id,
             std::optional<MasterKey> master_key);

  // Records this dealer's membership, drawing its X25519 key pair and the component key it
  // is responsible for (K_{self-1 mod n}). Repeating it with the same members is a no-op;
  // other members for the same group id are Error(conflict).
  GroupRecord create(const std::string& group_id, const std::vector<std::string>& members);
  std::optional<GroupRecord> find(const std::string& group_id);

  X25519KeyPair private_key(const GroupRecord& group);
  Seed128 drawn_key(const GroupRecord& group);

  // Stores the agreed keys and marks the group ready.
  void store_keys(const GroupRecord& group, const gen::GroupKeys& keys);
  // The keys of a ready group; Error(not_found) / Error(conflict) otherwise.
  gen::GroupKeys keys(const std::string& group_id);

 private:
  const MasterKey& master() const;
  std::string aad(const std::string& group_id, const char* role) const;

  std::shared_ptr<db::Database> db_;
  std::string dealer_id_;
  std::optional<MasterKey> master_key_;
};

// gen::GroupKeys as bytes (for sealing): parties, self, then per member a presence byte and
// 16 key bytes, component keys first, pair keys second. Error(crypto) on a malformed blob.
Bytes serialize_group_keys(const gen::GroupKeys& keys);
gen::GroupKeys parse_group_keys(ByteView bytes);

}  // namespace ppi::dealer
