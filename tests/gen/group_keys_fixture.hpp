#pragma once
// TEST FIXTURE: makes the GroupKeys of every member of a group in one process, so this process
// holds every key and could open every secret. Real groups agree their keys member by member
// (X25519 over mTLS); this exists only so tests and benchmarks can run all members at once.
// Never link it into an actor.

#include <cstddef>
#include <vector>

#include "gen/group_keys.hpp"

namespace ppi::gen::test_fixture {

// Consistent keys for members 0 .. parties - 1: K_i known to all but i, one key per pair.
std::vector<GroupKeys> make_group_keys(std::size_t parties);

}  // namespace ppi::gen::test_fixture
