#include "dealer/group_agreement.hpp"

#include "crypto/kdf.hpp"
#include "obs/log.hpp"

namespace ppi::dealer {
namespace {

struct PairSecrets {
  Seed128 pair_key;
  SealKey transport{};
  ~PairSecrets() { cleanse(transport.data(), transport.size()); }
};

PairSecrets derive(const X25519KeyPair& mine, ByteView peer_public, const std::string& group_id,
                   std::size_t a, std::size_t b) {
  if (peer_public.size() != kX25519KeySize) {
    throw Error(Errc::invalid_argument, "an X25519 public key is 32 bytes");
  }
  X25519Key shared = x25519(mine.private_key,
                            std::span<const std::uint8_t, kX25519KeySize>(peer_public.data(), 32));
  const std::string info = "ppi-group-v1|" + group_id + "|" + std::to_string(std::min(a, b)) + "|" +
                           std::to_string(std::max(a, b));
  PairSecrets out;
  Bytes pair = hkdf_sha256(shared, as_bytes("ppi-group-pair"), as_bytes(info), 16);
  Bytes transport = hkdf_sha256(shared, as_bytes("ppi-group-transport"), as_bytes(info), 32);
  std::copy(pair.begin(), pair.end(), out.pair_key.bytes.begin());
  std::copy(transport.begin(), transport.end(), out.transport.begin());
  cleanse(pair);
  cleanse(transport);
  cleanse(shared.data(), shared.size());
  return out;
}

std::string component_aad(const std::string& group_id, std::size_t component, std::size_t from,
                          std::size_t to) {
  return "ppi-group-component-v1|" + group_id + "|" + std::to_string(component) + "|" +
         std::to_string(from) + "|" + std::to_string(to);
}

// The component this member draws: K_{self - 1 mod n}.
std::size_t drawn_component(std::size_t self, std::size_t n) {
  return (self + n - 1) % n;
}

}  // namespace

mesh::v1::KeyExchangeResponse GroupAgreement::exchange(
    const std::string& caller, const mesh::v1::KeyExchangeRequest& request) {
  auto group = store_.find(request.group_id());
  if (!group) throw Error(Errc::not_found, "unknown group " + request.group_id());
  std::size_t from = group->members.size();
  for (std::size_t i = 0; i < group->members.size(); ++i) {
    if (group->members[i] == caller) from = i;
  }
  if (from == group->members.size() || from == group->self) {
    throw Error(Errc::permission_denied,
                "'" + caller + "' is not another member of group " + group->group_id);
  }
  X25519KeyPair mine = store_.private_key(*group);
  PairSecrets secrets =
      derive(mine, as_bytes(request.public_key()), group->group_id, group->self, from);
  mesh::v1::KeyExchangeResponse response;
  response.set_public_key(group->public_key.data(), group->public_key.size());
  const std::size_t component = drawn_component(group->self, group->members.size());
  if (component != from) {  // member i never learns K_i
    Seed128 drawn = store_.drawn_key(*group);
    Bytes sealed = seal(secrets.transport, drawn.bytes,
                        component_aad(group->group_id, component, group->self, from));
    auto* entry = response.add_component_keys();
    entry->set_component(static_cast<std::uint32_t>(component));
    entry->set_sealed(sealed.data(), sealed.size());
  }
  return response;
}

void GroupAgreement::agree(const std::string& group_id,
                           const std::vector<grpcsvc::MeshMember>& members) {
  if (!network_) throw Error(Errc::internal, "group agreement without a mesh");
  auto group = store_.find(group_id);
  if (!group) throw Error(Errc::not_found, "unknown group " + group_id);
  if (members.size() != group->members.size()) {
    throw Error(Errc::invalid_argument,
                "group " + group_id + " has " + std::to_string(group->members.size()) + " members");
  }
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i].id != group->members[i]) {
      throw Error(Errc::invalid_argument, "member " + std::to_string(i) + " of group " + group_id +
                                              " is " + group->members[i]);
    }
  }
  if (group->state == "ready") return;
  const std::size_t n = members.size(), self = group->self;
  X25519KeyPair mine = store_.private_key(*group);
  gen::GroupKeys keys;
  keys.parties = n;
  keys.self = self;
  keys.component_keys.resize(n);
  keys.pair_keys.resize(n);
  keys.component_keys[drawn_component(self, n)] = store_.drawn_key(*group);
  mesh::v1::KeyExchangeRequest request;
  request.set_group_id(group_id);
  request.set_public_key(group->public_key.data(), group->public_key.size());
  for (std::size_t j = 0; j < n; ++j) {
    if (j == self) continue;
    auto response = network_->exchange_keys(members[j], request);
    PairSecrets secrets = derive(mine, as_bytes(response.public_key()), group_id, self, j);
    keys.pair_keys[j] = secrets.pair_key;
    const std::size_t component = drawn_component(j, n);
    if (component == self) continue;
    if (response.component_keys_size() != 1 ||
        response.component_keys(0).component() != component) {
      throw Error(Errc::invalid_argument,
                  "dealer " + members[j].id + " did not send K_" + std::to_string(component));
    }
    Bytes key = open_sealed(secrets.transport, as_bytes(response.component_keys(0).sealed()),
                            component_aad(group_id, component, j, self));
    if (key.size() != 16) throw Error(Errc::crypto, "a component key is 16 bytes");
    keys.component_keys[component].emplace();
    std::copy(key.begin(), key.end(), keys.component_keys[component]->bytes.begin());
    cleanse(key);
  }
  store_.store_keys(*group, keys);
}

}  // namespace ppi::dealer
