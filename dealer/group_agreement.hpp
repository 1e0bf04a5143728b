#pragma once
// Key agreement of a dealer group (PROTOCOL.md section 4), run by each member when the super
// dealer asks, after every member has recorded the group (GroupStore::create).
//
// Pairwise keys: member i and j each send their X25519 public key for the group over the
// mTLS mesh (the CN authenticates it) and derive, from the shared secret,
//   P_ij (16 bytes, gen::GroupKeys::pair_keys) and a transport key T_ij (32 bytes)
// with HKDF-SHA256, binding the group id and both indices.
// Component keys: K_i is drawn from the CSPRNG by member (i + 1) mod n at formation, and sent
// to every other member but i, sealed under T with AES-256-GCM. So every member but i knows
// K_i, and nobody else does; member i never sees it.

#include <string>
#include <vector>

#include "dealer/group_store.hpp"
#include "grpc/mesh_client.hpp"

namespace ppi::dealer {

class GroupAgreement final : public grpcsvc::GroupKeyResponder {
 public:
  GroupAgreement(GroupStore& store, std::string dealer_id)
      : store_(store), dealer_id_(std::move(dealer_id)) {}
  void set_network(grpcsvc::MeshNetwork* network) { network_ = network; }

  // The responder side: the caller's public key, authenticated by its CN.
  mesh::v1::KeyExchangeResponse exchange(const std::string& caller,
                                         const mesh::v1::KeyExchangeRequest& request) override;

  // Exchanges keys with every other member (endpoints from the super dealer; their CNs are
  // checked against the group's member ids) and stores the group's keys. Idempotent once
  // ready. Error(unavailable) names a member that cannot be reached.
  void agree(const std::string& group_id, const std::vector<grpcsvc::MeshMember>& members);

 private:
  GroupStore& store_;
  std::string dealer_id_;
  grpcsvc::MeshNetwork* network_ = nullptr;
};

}  // namespace ppi::dealer
