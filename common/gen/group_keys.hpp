#pragma once
// The keys a dealer holds as a member of a group of n (PROTOCOL.md section 4).
//
// Replicated sharing: a secret is x = s_0 + ... + s_{n-1} and member j holds every s_i but s_j.
// A pseudo-random component is s_i = PRF(K_i, domain, index), where K_i is known to every member
// but i. Pairwise keys (one per other member, agreed with X25519 when the group is formed) give
// zero sharings and masks known to exactly two members.

#include <cstddef>
#include <optional>
#include <vector>

#include "crypto/csprng.hpp"

namespace ppi::gen {

struct GroupKeys {
  std::size_t parties = 0;
  std::size_t self = 0;
  // component_keys[i] = K_i for every i != self; nullopt at i == self.
  std::vector<std::optional<Seed128>> component_keys;
  // pair_keys[j] = the key this member shares with member j alone, for j != self; nullopt at
  // j == self.
  std::vector<std::optional<Seed128>> pair_keys;
};

}  // namespace ppi::gen
