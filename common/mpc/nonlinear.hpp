#pragma once
// The private non-linear operations of a transformer forward pass (PROTOCOL.md section 6):
// exp for softmax, reciprocal, inverse square root, GELU, row softmax with a public mask, and
// LayerNorm without gamma / beta. Each runs the program of approx/programs.hpp with shares:
// the same operations as the plaintext reference approx::<name> (approx/fixed_functions.hpp,
// which also holds every constant, the documented input ranges and error bounds), so the two
// differ only by the 1-ulp noise of the exact truncations propagated. Nothing is computed in
// plaintext on a secret; control flow depends on sizes and public parameters only.
//
// Values are fixed point with p.frac_bits() = f fractional bits, 8 <= f <= 20; truncations
// use l = p.magnitude_bits(), which must be >= 61 (every intermediate stays below 2^61 on the
// documented ranges), else Error(invalid_argument). Work is batched over the whole call.
//
// Rounds and material for n values (C(b) = 1 + msb_rounds(b) rounds of a comparison at width b,
// W_b(k) = msb_and_gates(b) ceil(k / 64) BIT_TRIPLE words of one msb_bits call on k values
// (mpc/boolean.hpp: C(64) = 8, W_64 = 181; C(30) = 7, W_30 = 80); TRUNC counts summed over
// the shifts used; G = min(f + 8, 24)):
//   exp_neg:     C(63) + 11 = 19 rounds = relu clip, powers v^2 | v^3 v^4 2 x 2, polynomial 1,
//                three squarings 3 x 2. n DABIT, W_63(n), 7n TRIPLE, 7n TRUNC. Inside softmax
//                the clip is at width f + 16: 18 rounds at f = 16.
//   gelu:        C(f + 14) + 8 rounds (15 at f = 16) = relu(x - 4), relu(-x - 4) together,
//                v = 2 (c/4)^2 - 1 2, powers v^2 | v^3 v^4 2 x 2, v^4 A1(v) 1, the rounding 1.
//                2n DABIT, W_(f+14)(2n), 7n TRIPLE, 5n TRUNC.
//   reciprocal:  C(f + J + 2) + 8 + t rounds (15 over [1, 64] at f = 16) = octave comparisons
//                (K = J - floor(log2 lo) thresholds, J = floor(log2 hi); none, and 0 rounds,
//                when K = 0), t = 1 when f + J > G (a truncation of m), m y0 and y0 2^-e 2,
//                three Goldschmidt steps 3 x 2. Kn DABIT, W_(f+J+2)(Kn), (K + 7) n TRIPLE,
//                (7 + t) n TRUNC.
//   rsqrt:       C(fi + J + 2) + 10 + t rounds = comparisons and t as reciprocal (input scale fi),
//                y0^2 2, m y0^2 and y0 2^(-e/2) 2, powers e^2 | e^3 e^4 2 x 2, the product with
//                P(e) 2. Kn DABIT, W_(fi+J+2)(Kn), (K + 7) n TRIPLE, (7 + t) n TRUNC.
//   softmax_rows (m x n, V = sum of valid lengths): ceil(log2 n) C(f + 16) (max_rows) +
//                C(f + 16) + 11 (exp_neg of the V valid entries) + reciprocal of the m sums over
//                [1, n] + 2 (the product: V TRIPLE, V TRUNC) rounds: 77 at n = 64, f = 16.
//   layer_norm (rows x d): 1 (mean) + 1 (squares) + 21 (rsqrt of the rows' sums of squares at
//                scale 2f, width 2f + J + 2 = 59 at d = 768, f = 16; z = z0 P(e) per row, then
//                its product with x - mean per element) = 23 rounds; 2 rows d + (K + 7) rows
//                TRIPLE, rows d + 9 rows TRUNC, K rows DABIT (K = 28 at d = 768, f = 16).
// The documented ranges and measured errors are in approx/fixed_functions.hpp and
// docs/nonlinear.md; tests/mpc/nonlinear_test.cpp asserts these round counts.

#include <cstdint>
#include <span>

#include "mpc/arith.hpp"

namespace ppi::mpc {

// e^x for x <= 0.
Shares exp_neg(Party& p, std::span<const u64> x);
// 1/x for x in the public range [lo, hi].
Shares reciprocal(Party& p, std::span<const u64> x, double lo, double hi);
// 1/sqrt(x) for x in the public range [lo, hi].
Shares rsqrt(Party& p, std::span<const u64> x, double lo, double hi);
// GELU, tanh form (GPT-2), for |x| < 2^12.
Shares gelu(Party& p, std::span<const u64> x);
// Softmax of each row of the m x n matrix x (|x| < 2^14) over its first valid[r] columns
// (public, 1 <= valid[r] <= n); the other columns are exactly 0.
Shares softmax_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                    std::span<const std::uint32_t> valid);
// (x - mean) / sqrt(var + eps) over each row of d values, without gamma / beta.
Shares layer_norm(Party& p, std::span<const u64> x, std::uint32_t rows, std::uint32_t d,
                  double eps);

}  // namespace ppi::mpc
