#pragma once
// Fixed-point approximations of the non-linear functions of a transformer forward pass, and
// their plaintext reference: the single source of every constant (coefficients, clip points,
// initial guesses, iteration counts) used by the private operations of mpc/nonlinear.hpp.
//
// Each function here runs the private program of approx/programs.hpp with plaintext values:
// products mod 2^64 and floor truncations (truncate_plain). The private result differs from
// it only by the floor-or-floor+1 noise of the exact truncation (PROTOCOL.md section 6)
// propagated, a few ulps (docs/nonlinear.md). Inputs and outputs are fixed point with f
// fractional bits, 8 <= f <= 20, else Error(invalid_argument).
//
// Documented ranges, and the worst errors against the double function measured at f = 16 by
// tests/mpc/nonlinear_test.cpp over each whole range (f = 12 and 20 in docs/nonlinear.md):
//   exp_neg       x <= 0 (|x| < 2^(62-f)); below -16 the result is e^-16 = 1.1e-7    1.8e-5
//   reciprocal    x in [lo, hi], 2^-f <= lo <= hi, 1/lo <= 2^12      1.2 ulp + 1e-6 |1/x|
//   rsqrt         x in [lo, hi], 2^-f <= lo <= hi, 1/sqrt(lo) <= 2^6  1.2 ulp + 2e-7 |y|
//   gelu          |x| < 2^12 (tanh form, as GPT-2)                                   6.9e-5
//   softmax_rows  |x| < 2^14                                                         1.5e-4
//   layer_norm    |x| < 2^12, d <= 1024, var + eps in [2^-12, layer_norm_var_hi_at(f, d)]
//                 (2^16 at f <= 16): 3.7e-4, from the mean's 1-ulp noise over the spread
// The private operations agree with these within 2 ulps (exp, gelu, reciprocal, rsqrt) to
// 50 ulps (layer_norm: the mean's noise over a 0.02 spread) at f = 16.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ring/z2k.hpp"

namespace ppi::approx {

inline constexpr int kMinFracBits = 8;
inline constexpr int kMaxFracBits = 20;
// Public polynomial coefficients are encoded at this scale.
inline constexpr int kCoeffScale = 24;

// exp_neg: x' = max(x, -16), v = x' / 16, P(v) ~ e^(2 v) on [-1, 0], squared three times.
// Coefficients of v^0 .. v^4: weighted minimax (weight 8 e^(14 v), the derivative of the
// squarings) by fit_coefficients.py; |P^8 - e^(16 v)| < 3.1e-6 before rounding.
inline constexpr double kExpClip = 16.0;
inline constexpr int kExpClipLog2 = 4;
inline constexpr int kExpSquarings = 3;
inline constexpr std::array<double, 5> kExpCoeffs = {0.999999622186542, 1.9998950820213743,
                                                     1.9960991211288286, 1.2893380637888872,
                                                     0.48391522827439215};

// gelu: h(x) = gelu(x) - x / 2 = 0.5 x tanh(sqrt(2/pi) (x + 0.044715 x^3)) on [-4, 4] as Q(v),
// v = 2 (x / 4)^2 - 1 in [-1, 1]. Coefficients of v^0 .. v^8: minimax by fit_coefficients.py
// with Q(1) = 2 + (h(4) - 2) / 2, |err| < 4.8e-5; beyond |x| = 4 GELU = x - 2 + Q(1), within
// 3.5e-5 of gelu(x) (whose distance to x falls from 7e-5 to 0). Q = sum_{i < k} a_i v^i + v^k A1(v)
// (k = kGeluSplit): powers v^1 .. v^k at scale min(kGeluPowerScale, 2f + 2), the sum at
// kGeluSumScale.
inline constexpr int kGeluInputBits = 12;  // |x| < 2^12
inline constexpr double kGeluClip = 4.0;
inline constexpr int kGeluSplit = 4;
inline constexpr int kGeluPowerScale = 20;
inline constexpr int kGeluSumScale = 58;
inline constexpr std::array<double, 9> kGeluCoeffs = {
    1.4080475974006135,    0.7323632897995904,   -0.22785181938887647,
    0.15949068709652914,   -0.11858164921240684, 0.06208915342961149,
    -0.039417223844343284, 0.04601595576733716,  -0.02219111402215135};
static_assert(kGeluCoeffs.size() <= 2 * kGeluSplit + 1, "A1 uses the powers up to v^k");

// reciprocal: y0 = c - m / 2 for m in [1, 2): c = sqrt(12) - 2 equalises |1 - m y0| <= 0.0718
// at m = 1, c, 2; three Goldschmidt steps leave a relative error e^8 < 7e-10.
inline constexpr double kRecipGuess = 1.4641016151377544;
inline constexpr int kRecipSteps = 3;

// rsqrt: y0 = c - 9 m / 32 for m in [1, 2), c searched by fit_coefficients.py to minimise
// max |1 - m y0^2| = 0.0472; then the series of (1 - e)^(-1/2) to degree 4, coefficients
// 1, 1/2, 3/8, 5/16, 35/128 as integers over 2^7.
inline constexpr double kRsqrtGuess = 1.25739;
inline constexpr std::uint64_t kRsqrtSlope = 9;
inline constexpr int kRsqrtSlopeShift = 5;
inline constexpr std::array<std::uint64_t, 5> kRsqrtSeries = {128, 64, 48, 40, 35};
inline constexpr int kRsqrtSeriesShift = 7;

// softmax_rows: |x| < 2^14, which bounds the comparisons of the row max and exp's clip.
inline constexpr int kSoftmaxInputBits = 14;

// layer_norm: |x| < 2^12, d <= 1024, var + eps >= 2^-12.
inline constexpr int kLayerNormInputBits = 12;
inline constexpr std::uint32_t kLayerNormMaxWidth = 1024;
inline constexpr double kLayerNormVarLo = 1.0 / 4096;
inline constexpr int kLayerNormVarHiLog2 = 16;

// The largest var + eps layer_norm takes at this f and d (2^16 at f <= 16, d <= 1024).
double layer_norm_var_hi_at(int f, std::uint32_t d);

std::vector<u64> exp_neg(std::span<const u64> x, int f);
std::vector<u64> reciprocal(std::span<const u64> x, int f, double lo, double hi);
std::vector<u64> rsqrt(std::span<const u64> x, int f, double lo, double hi);
std::vector<u64> gelu(std::span<const u64> x, int f);
std::vector<u64> softmax_rows(std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                              std::span<const std::uint32_t> valid, int f);
std::vector<u64> layer_norm(std::span<const u64> x, std::uint32_t rows, std::uint32_t d, double eps,
                            int f);

// Error(invalid_argument) unless kMinFracBits <= f <= kMaxFracBits.
void check_frac_bits(int f);

}  // namespace ppi::approx
