#include "group_keys_fixture.hpp"

namespace ppi::gen::test_fixture {

std::vector<GroupKeys> make_group_keys(std::size_t parties) {
  std::vector<Seed128> component(parties);
  for (auto& k : component) k = random_seed();
  std::vector<std::vector<Seed128>> pair(parties, std::vector<Seed128>(parties));
  for (std::size_t i = 0; i < parties; ++i) {
    for (std::size_t j = i + 1; j < parties; ++j) pair[i][j] = pair[j][i] = random_seed();
  }
  std::vector<GroupKeys> keys(parties);
  for (std::size_t self = 0; self < parties; ++self) {
    GroupKeys& k = keys[self];
    k.parties = parties;
    k.self = self;
    k.component_keys.resize(parties);
    k.pair_keys.resize(parties);
    for (std::size_t i = 0; i < parties; ++i) {
      if (i == self) continue;
      k.component_keys[i] = component[i];
      k.pair_keys[i] = pair[self][i];
    }
  }
  return keys;
}

}  // namespace ppi::gen::test_fixture
