#include "gen/session.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace ppi::gen {

namespace {

void append_u64(Bytes& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

const Seed128& key_at(const std::vector<std::optional<Seed128>>& keys, std::size_t i,
                      const char* what) {
  if (!keys[i]) {
    throw Error(Errc::invalid_argument, std::string("group keys: ") + what + " of member " +
                                            std::to_string(i) + " missing");
  }
  return *keys[i];
}

void check_keys(const GroupKeys& keys) {
  if (keys.component_keys.size() != keys.parties || keys.pair_keys.size() != keys.parties) {
    throw Error(Errc::invalid_argument,
                "group keys: need one component key and one pair key "
                "slot per member");
  }
  if (keys.component_keys[keys.self] || keys.pair_keys[keys.self]) {
    throw Error(Errc::invalid_argument,
                "group keys: a member must not hold its own component key or a pair key with "
                "itself");
  }
  for (std::size_t i = 0; i < keys.parties; ++i) {
    if (i == keys.self) continue;
    key_at(keys.component_keys, i, "component key");
    key_at(keys.pair_keys, i, "pair key");
  }
}

Seed128 subgroup_key(const GroupKeys& keys, const Roles& roles, const std::string& group_id,
                     int s) {
  Bytes ikm;
  for (std::size_t i = static_cast<std::size_t>(s); i < keys.parties; i += kSubgroups) {
    const Seed128& k = *keys.component_keys[i];
    ikm.insert(ikm.end(), k.bytes.begin(), k.bytes.end());
  }
  Domain info("subgroup");
  info.add(group_id).add(roles.parties()).add(static_cast<std::uint64_t>(s));
  Bytes out = hkdf_sha256(ikm, as_bytes("ppi-gen-group-v1"), info.bytes(), 16);
  Seed128 key;
  std::copy(out.begin(), out.end(), key.bytes.begin());
  cleanse(ikm);
  cleanse(out);
  return key;
}

Roles checked_roles(const GroupKeys& keys) {
  Roles roles(keys.parties, keys.self);
  check_keys(keys);
  return roles;
}

}  // namespace

Domain::Domain(std::string_view scope) {
  add("ppi-gen-v1");
  add(scope);
}

Domain& Domain::add(std::string_view field) {
  append_u64(bytes_, field.size());
  bytes_.insert(bytes_.end(), field.begin(), field.end());
  return *this;
}

Domain& Domain::add(std::uint64_t field) {
  append_u64(bytes_, 8);
  append_u64(bytes_, field);
  return *this;
}

Session::Session(const GroupKeys& keys, std::string group_id)
    : roles_(checked_roles(keys)),
      group_id_(std::move(group_id)),
      slots_{Prf(roles_.group() == 0 ? Seed128{} : subgroup_key(keys, roles_, group_id_, 0)),
             Prf(roles_.group() == 1 ? Seed128{} : subgroup_key(keys, roles_, group_id_, 1)),
             Prf(roles_.group() == 2 ? Seed128{} : subgroup_key(keys, roles_, group_id_, 2))},
      ring_next_(*keys.pair_keys[(keys.self + 1) % keys.parties]),
      ring_prev_(*keys.pair_keys[(keys.self + keys.parties - 1) % keys.parties]) {}

const Prf& Session::slot_prf(int s) const {
  if (s < 0 || s >= kSubgroups || s == roles_.group()) {
    throw Error(Errc::internal, "a member has no key for its own component slot");
  }
  return slots_[static_cast<std::size_t>(s)];
}

}  // namespace ppi::gen
