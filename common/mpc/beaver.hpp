#pragma once
// Products of two shared values with Beaver triples.
//
// mul (elementwise, x and y of n values):
//   1 round: opens d = x - a and e = y - b together (16 bytes per value sent by each party);
//   material: n TRIPLE. z = c + d b + e a (+ d e by party 0).
// matmul (X m x k times Y k x n, row-major):
//   1 round: opens E = X - A and F = Y - B together (8 (mk + kn) bytes sent by each party);
//   material: one MATRIX_TRIPLE_m_k_n. Z = E F (party 0) + E [B] + [A] F + [C], two GEMMs.
// matmul_batched (`count` independent products X_i Y_i of the same shape, e.g. one per attention
//   head): 1 round for all of them, 8 count (mk + kn) bytes sent by each party; material: count
//   MATRIX_TRIPLE_m_k_n, taken in order.
// Both are exact in Z_2^64: a product of fixed-point values carries 2f fractional bits and
// is truncated after (mpc/truncate.hpp), which needs |x y| < 2^l.

#include <cstdint>
#include <span>

#include "mpc/arith.hpp"

namespace ppi::mpc {

Shares mul(Party& p, std::span<const u64> x, std::span<const u64> y);

// Error(invalid_argument) when x is not m * k or y not k * n values.
Shares matmul(Party& p, std::span<const u64> x, std::span<const u64> y, std::uint32_t m,
              std::uint32_t k, std::uint32_t n);

// x holds `count` blocks of m * k values, y `count` blocks of k * n; the result holds `count`
// blocks of m * n, block i = X_i Y_i. Error(invalid_argument) on other sizes or count == 0.
Shares matmul_batched(Party& p, std::span<const u64> x, std::span<const u64> y, std::uint32_t count,
                      std::uint32_t m, std::uint32_t k, std::uint32_t n);

}  // namespace ppi::mpc
