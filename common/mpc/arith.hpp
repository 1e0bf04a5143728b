#pragma once
// Local operations on additive shares mod 2^64, and openings.
//
// Cost per call:
//   share_own_input, share_peer_input, add, sub, add_public, mul_public: no round, no material.
//   open:              1 round (exchange), 8 bytes sent per value by each party.
//   reveal_to_client:  1 one-way message MO -> C, 8 bytes per value; MO learns nothing.
// No magnitude bound: these are exact in Z_2^64 (a public multiplier applied to a fixed-point
// value is an integer; a fixed-point multiplier needs a truncation after, mpc/truncate.hpp).

#include <cstddef>
#include <span>
#include <vector>

#include "mpc/party.hpp"

namespace ppi::mpc {

using Shares = std::vector<u64>;

// The owner of a private input shares it as (value, 0): no message, the peer's share is 0.
Shares share_own_input(std::span<const u64> values);
Shares share_peer_input(std::size_t count);

// Sizes must match, else Error(invalid_argument).
Shares add(std::span<const u64> x, std::span<const u64> y);
Shares sub(std::span<const u64> x, std::span<const u64> y);
// x + c for a public c known to both parties: party 0 adds it, party 1 keeps its share.
Shares add_public(const Party& p, std::span<const u64> x, std::span<const u64> c);
Shares add_public(const Party& p, std::span<const u64> x, u64 c);
// x * k for a public ring integer k.
Shares mul_public(std::span<const u64> x, u64 k);
Shares mul_public(std::span<const u64> x, std::span<const u64> k);

// Both parties learn x.
std::vector<u64> open(Party& p, std::span<const u64> x);
// C learns x, MO learns nothing: MO sends its shares. Returns x for the client and an empty
// vector for the model owner.
std::vector<u64> reveal_to_client(Party& p, std::span<const u64> x);

// Throws Error(invalid_argument) naming `what` unless a == b.
void check_same_size(std::size_t a, std::size_t b, const char* what);

}  // namespace ppi::mpc
