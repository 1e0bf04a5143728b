#pragma once
// The keys one member uses during a generation, derived once from its GroupKeys.
//
// Sub-group keys: K_{G_s} = HKDF(ikm = K_i for i in G_s in ascending order, salt
// "ppi-gen-group-v1", info = group id, n, s). A member outside G_s holds every K_i of G_s and
// so K_{G_s}; a member of G_s lacks its own K_i and cannot compute it. Component s of a random
// sharing is X_s = PRF(K_{G_s}, domain, index), i.e. the sum over G_s of the PRSS components
// s_i, collapsed into one stream so that a member evaluates two streams per value, not n - 1.
//
// Ring keys: the pair keys with the next and the previous member (mod n) give every member an
// output mask PRF(k_{p,p+1}) - PRF(k_{p-1,p}); the masks of all members sum to zero, and any
// single other member misses at least one of the two keys of a mask.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "crypto/kdf.hpp"
#include "gen/group_keys.hpp"
#include "gen/roles.hpp"

namespace ppi::gen {

// A PRF domain: fields length-prefixed so that no two field lists give the same bytes.
class Domain {
 public:
  explicit Domain(std::string_view scope);
  Domain& add(std::string_view field);
  Domain& add(std::uint64_t field);
  ByteView bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

class Session {
 public:
  // Validates the keys (n >= 3, self < n, every key present except at self) and derives the
  // sub-group and ring keys. Throws Error(invalid_argument) naming what is wrong.
  Session(const GroupKeys& keys, std::string group_id);

  const Roles& roles() const { return roles_; }
  const std::string& group_id() const { return group_id_; }
  // The PRF of component slot s (s != roles().group()).
  const Prf& slot_prf(int s) const;
  const Prf& ring_next() const { return ring_next_; }
  const Prf& ring_prev() const { return ring_prev_; }

 private:
  Roles roles_;
  std::string group_id_;
  std::array<Prf, kSubgroups> slots_;  // the own group's entry is a dummy, never used
  Prf ring_next_, ring_prev_;
};

}  // namespace ppi::gen
