#pragma once
// Local arithmetic of three-way replicated sharings (roles.hpp): this member holds the
// components of slots slot1 and slot2 of every sharing.
//
// A product z = x y is sum over (s, t) of x_s y_t. The nine terms are split among the three
// sub-groups so that each term goes to a sub-group holding both factors: sub-group h takes
// (h+1, h+1), (h+1, h+2), (h+2, h+1), i.e. z_h = x1 (y1 + y2) + x2 y1 in its own slot names.
// The z_h are additive shares of z, one per sub-group.

#include <cstdint>
#include <span>
#include <vector>

#include "gen/big_buffer.hpp"
#include "gen/session.hpp"
#include "ring/z2k.hpp"

namespace ppi::gen {

// This member's two components of a run of arithmetic sharings (Z_2^128).
struct Components {
  BigVector<u128> c1, c2;  // slots roles.slot1(), roles.slot2()
  void resize(std::size_t n) {
    resize_big(c1, n);
    resize_big(c2, n);
  }
  std::size_t size() const { return c1.size(); }
};

// Components of pseudo-random sharings: c_s[i] = PRF(K_{G_s}, domain, first + i), for
// out.size() values (resize first).
void fill_random(const Session& session, const Domain& domain, u128 first, Components& out);

// out[i] = x1 (y1 + y2) + x2 y1: this sub-group's additive share of x y.
void mul_local(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
               std::span<const u128> y2, std::span<u128> out);
// The same with x a single sharing (the MAC key): out[i] = a1 (y1 + y2) + a2 y1.
void mul_scalar_local(u128 a1, u128 a2, std::span<const u128> y1, std::span<const u128> y2,
                      std::span<u128> out);

// Boolean sharings: 256 GF(2) bits per element, two u128 words each, laid out as
// [element][2]. out = x1 & (y1 ^ y2) ^ x2 & y1.
void and_local(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
               std::span<const u128> y2, std::span<u128> out);

// Bit j of a packed stream of u128 words.
inline unsigned bit_at(std::span<const u128> words, std::uint64_t j) {
  return static_cast<unsigned>((words[j >> 7] >> (j & 127)) & 1);
}

}  // namespace ppi::gen
