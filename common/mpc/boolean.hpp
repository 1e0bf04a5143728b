#pragma once
// XOR-shared bits and the conversions between the arithmetic and boolean worlds.
//
// and_words (n words of 64 AND gates):
//   1 round, 16 bytes per word sent by each party; n words of BIT_TRIPLE (n / 4 items).
// msb_bits (n values): the arithmetic-to-boolean step of a comparison. The two parties' shares
//   are the addends of a 64-bit adder: MSB(x0 + x1) = x0[63] XOR x1[63] XOR carry into bit 63,
//   and only that carry is computed, by a parallel-prefix (Sklansky-style) reduction of the
//   (generate, propagate) pairs of bits 0..62 over XOR shares. Values are bit-sliced, so each
//   level is one and_words call for all values:
//   7 rounds (1 for the generate bits g_i = x0_i AND x1_i, then 6 tree levels 63 -> 32 -> 16
//   -> 8 -> 4 -> 2 -> 1); 181 AND gates per value, i.e. 181 * ceil(n / 64) BIT_TRIPLE words;
//   362 * ceil(n / 64) words sent by each party.
// msb_bits with a width b (n values known to lie in [-2^(b-1), 2^(b-1)) as signed integers):
//   bits b-1 .. 63 of such an x are all its sign, so MSB(x) = x0[b-1] XOR x1[b-1] XOR the carry
//   into bit b-1 of the low b - 1 bits of the two shares; the tree runs over b - 1 positions:
//   msb_rounds(b) = 1 + ceil(log2(b - 1)) rounds, msb_and_gates(b) AND gates per value
//   ((b - 1) generate bits, then 2 floor(k / 2) - 1 per level of k nodes), i.e.
//   msb_and_gates(b) ceil(n / 64) BIT_TRIPLE words, twice that many words sent by each party.
//   b = 64 is the unbounded case above (7 rounds, 181 gates); b = 30: 6 rounds, 80 gates;
//   b = 43: 7 rounds, 118 gates. Outside the range the result is bit b-1 of x, not its sign.
// b2a (n bits): 1 round, ceil(n / 64) words each way; n DABIT. Opens c = b XOR r and sets
//   [b] = c + [r] - 2 c [r].
// The MSB of x is its sign for any 64-bit two's complement x: no magnitude bound for b = 64.

#include <cstddef>
#include <span>
#include <vector>

#include "mpc/arith.hpp"

namespace ppi::mpc {

// `count` XOR-shared bits, bit i = (words[i / 64] >> (i % 64)) & 1. Bits beyond count are
// don't-care.
struct BitShares {
  std::vector<u64> words;
  std::size_t count = 0;
};

// Words sent along with the first round of an operation, so that an independent opening costs
// no round of its own: `mine` is sent, `peer` receives the peer's words of the same length.
struct Piggyback {
  std::vector<u64> mine;
  std::vector<u64> peer;
};

// z = x AND y on XOR-shared words. `extra`, if given, rides in the same message.
std::vector<u64> and_words(Party& p, std::span<const u64> x, std::span<const u64> y,
                           Piggyback* extra = nullptr);

// XOR shares of the most significant bit of each shared value. `extra` rides with the first
// round.
BitShares msb_bits(Party& p, std::span<const u64> x, Piggyback* extra = nullptr);
// XOR shares of bit bits - 1 of each shared value: its sign where every x lies in
// [-2^(bits-1), 2^(bits-1)). Error(invalid_argument) unless 2 <= bits <= 64.
BitShares msb_bits(Party& p, std::span<const u64> x, unsigned bits, Piggyback* extra = nullptr);
// The rounds and the AND gates per value of msb_bits of that width (as above).
unsigned msb_rounds(unsigned bits);
unsigned msb_and_gates(unsigned bits);
// Error(invalid_argument) unless 2 <= bits <= 64.
void check_msb_width(unsigned bits);

// Arithmetic shares (0 or 1) of XOR-shared bits.
Shares b2a(Party& p, const BitShares& bits);

// NOT of XOR-shared bits: party 0 flips its share.
BitShares flip(const Party& p, BitShares bits);

}  // namespace ppi::mpc
