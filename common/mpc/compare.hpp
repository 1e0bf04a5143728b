#pragma once
// Comparisons and the non-linear functions built on them: sign bit, less-than, ReLU, and max /
// argmax over the rows of a matrix.
//
// Cost for n values (W = ceil(n / 64)), at the default width 64 (see below for others):
//   msb, less_than:  8 rounds (7 of msb_bits, 1 of b2a); n DABIT, 181 W BIT_TRIPLE words.
//   relu:            8 rounds; n DABIT, n TRIPLE, 181 W BIT_TRIPLE words. x * NOT msb(x) is
//                    computed with the daBit r of the bit: with c = bit XOR r opened,
//                    bit * x = c x + (1 - 2c) r x, and the Beaver product r x is opened in the
//                    first round of the comparison, so it costs no round of its own.
//   max_rows (m x n): ceil(log2 n) tournament levels of 8 rounds each; per level, for the P
//                    pairs compared, P DABIT, P TRIPLE and 181 ceil(P / 64) BIT_TRIPLE words.
//   argmax_rows:     as max_rows with 2 P TRIPLE per level; the index is an integer share (not
//                    fixed point), the first maximum on ties.
// Bounds: msb and relu are exact for every 64-bit x (the sign of two's complement).
// less_than, max and argmax compare through x - y, which needs |x|, |y| < 2^62 (l = 62).
//
// Every function takes a width `bits` (2 .. 64, default 64 = the above): the values whose sign
// is taken (x for msb and relu, x - y for less_than, the differences of two entries of a row
// for max and argmax) must lie in [-2^(bits-1), 2^(bits-1)); for max and argmax that holds when
// every entry has |x| < 2^(bits-2). Then msb_bits runs over bits - 1 carry positions
// (mpc/boolean.hpp): the 7 rounds of msb_bits above become msb_rounds(bits) and the 181 BIT_TRIPLE
// words per 64 values msb_and_gates(bits), e.g. 6 and 80 at bits = 30. Outside that range the
// answer is wrong (bit bits - 1 is taken for the sign): the caller states the bound.

#include <cstdint>
#include <span>

#include "mpc/boolean.hpp"

namespace ppi::mpc {

// [1] where x < 0 (as two's complement), [0] elsewhere.
Shares msb(Party& p, std::span<const u64> x, unsigned bits = 64);
// [x < y] elementwise.
Shares less_than(Party& p, std::span<const u64> x, std::span<const u64> y, unsigned bits = 64);
// max(x, 0).
Shares relu(Party& p, std::span<const u64> x, unsigned bits = 64);

struct RowArgmax {
  Shares values;   // m maxima
  Shares indices;  // m column indices (integers)
};

// x is m x n, row-major; n >= 1, else Error(invalid_argument).
Shares max_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                unsigned bits = 64);
RowArgmax argmax_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                      unsigned bits = 64);

}  // namespace ppi::mpc
