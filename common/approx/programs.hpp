#pragma once
// The non-linear programs of a transformer forward pass, written once over an engine so that
// the plaintext fixed-point reference (approx/fixed_functions.cpp) and the private 2PC path
// (mpc/nonlinear.cpp) run EXACTLY the same sequence of operations on u64: they differ only in
// what a truncation returns (floor in plaintext, floor or floor + 1 in MPC).
//
// An engine E provides, on vectors of u64 (values in plaintext, additive shares in MPC):
//   mul(a, b)            exact elementwise products mod 2^64                    (1 round)
//   trunc(a, s)          a >> s, arithmetic                                    (1 round)
//   add_const(a, c)      a + c for public c (per element or one for all)      (no round)
//   nonneg(d, y, b)      s = [d >= 0] (0/1) and s * y, for d in [-2^(b-1), 2^(b-1))
//                        (1 + msb_rounds(b) rounds: 8 at b = 64, 7 at 18 <= b <= 33)
//   max_rows(x, m, n, b) the row maxima, every |entry| < 2^(b-2)
//                        (ceil(log2 n) levels of 1 + msb_rounds(b) rounds)
// Both take the sign as bit b - 1 of the value (mpc/boolean.hpp msb_bits of width b), the
// plaintext engine exactly as the private one, so that they stay in step even outside a range;
// each program states the bound that keeps its comparisons inside it.
// Every other step is linear (add, sub, public integer multiples), identical on values and on
// shares. Public constants are only ever added through add_const, which party 0 alone applies.
// Control flow depends on public sizes and parameters only.
//
// Scales: a value "at scale s" is the integer round(v 2^s). Inputs and outputs are at f; the
// intermediates are at G = min(f + 8, 24) (work_scale), so that the 1-ulp noise of each
// truncation is 2^-8 of an output ulp (2^-4 at f = 20), and every product stays below 2^61 on
// the documented ranges (see each function).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "approx/fixed_functions.hpp"
#include "core/error.hpp"

namespace ppi::approx::program {

using Vec = std::vector<u64>;

inline u64 pow2(int s) {
  return u64{1} << s;
}
// round(v 2^s) in two's complement.
inline u64 encode_at(double v, int s) {
  return static_cast<u64>(std::llround(std::ldexp(v, s)));
}
inline int work_scale(int f) {
  return std::min(f + 8, 24);
}

// The width b of a comparison of values in (-2^k, 2^k) at scale s (k real bits): bit b - 1 is
// their sign when b - 1 = k + s; at most 64.
inline unsigned sign_width(int k, int s) {
  return static_cast<unsigned>(std::min(64, k + s + 1));
}

inline int bits_of(double v) {
  return std::max(0, static_cast<int>(std::ceil(std::log2(v))));
}
inline int floor_log2(double v) {
  return static_cast<int>(std::floor(std::log2(v)));
}
// The scale of z ~ 1/x in reciprocal: z (1 + e) below 2^60 for z <= 1/lo.
inline int reciprocal_scale(int f, double lo) {
  const int G = work_scale(f);
  return std::min(G, 60 - G - std::max(0, -floor_log2(lo)));
}
// The scale of z0 ~ gain / sqrt(x) in rsqrt: z0 P(e), P at scale G + 7, below 2^60.
inline int rsqrt_scale(int f, double lo, double gain) {
  const int G = work_scale(f);
  return std::min(G, 53 - G - bits_of(gain * std::exp2(-0.5 * floor_log2(lo))));
}
// The largest variance layer_norm takes at this f and width: 2^h <= 2^16 with
// 2f + floor(log2(d 2^h)) <= 59, so that S2 = d var at scale 2f and m stay below 2^61.
inline double layer_norm_var_hi(int f, std::uint32_t d) {
  int h = kLayerNormVarHiLog2;
  while (h > 0 && 2 * f + floor_log2(std::ldexp(static_cast<double>(d), h)) > 59) --h;
  return std::ldexp(1.0, h);
}

inline Vec concat(std::initializer_list<std::span<const u64>> parts) {
  Vec out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline std::span<const u64> piece(const Vec& v, std::size_t k, std::size_t n) {
  return std::span<const u64>(v).subspan(k * n, n);
}
inline Vec scaled(std::span<const u64> a, u64 k) {
  Vec out(a.begin(), a.end());
  for (u64& v : out) v *= k;
  return out;
}
inline Vec negated(std::span<const u64> a) {
  return scaled(a, ~u64{0});
}
// out += k a.
inline void axpy(Vec& out, u64 k, std::span<const u64> a) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += k * a[i];
}
inline Vec plus(std::span<const u64> a, std::span<const u64> b) {
  Vec out(a.begin(), a.end());
  axpy(out, 1, b);
  return out;
}

// v^1 .. v^degree at scale G from v at scale G: level k multiplies the highest power known,
// v^h (h = 2^(k-1)), by v^1 .. v^h, so ceil(log2 degree) levels of one mul and one trunc.
template <class E>
std::vector<Vec> powers(E& eng, const Vec& v, int degree, int G) {
  std::vector<Vec> pw{v};
  while (static_cast<int>(pw.size()) < degree) {
    const int h = static_cast<int>(pw.size());
    const int add = std::min(h, degree - h);
    Vec lhs, rhs;
    for (int j = 0; j < add; ++j) {
      lhs.insert(lhs.end(), pw[h - 1].begin(), pw[h - 1].end());
      rhs.insert(rhs.end(), pw[j].begin(), pw[j].end());
    }
    const Vec z = eng.trunc(eng.mul(lhs, rhs), G);
    for (int j = 0; j < add; ++j) {
      const auto p = piece(z, static_cast<std::size_t>(j), v.size());
      pw.emplace_back(p.begin(), p.end());
    }
  }
  return pw;
}

// sum_i coeff[i] v^i at scale G + Gc (v^0 = 1 added as a public constant), powers at G.
template <class E, std::size_t N>
Vec polynomial(E& eng, const std::vector<Vec>& pw, const std::array<double, N>& coeff, int G,
               int Gc) {
  Vec acc(pw.front().size(), 0);
  for (std::size_t i = 1; i < N; ++i) axpy(acc, encode_at(coeff[i], Gc), pw[i - 1]);
  return eng.add_const(acc, encode_at(coeff[0], G + Gc));
}

// e^x for x <= 0 at scale f, result at scale `out`, for x > -2^lg (lg >= 5; lg = 0 stands for
// 62 - f, the documented range):
//   x' = relu(x + 16) - 16 = max(x, -16); v = x' / 16 in [-1, 0] is x' read at scale f + 4;
//   x + 16 in (-2^lg, 16] is compared at width sign_width(lg, f);
//   y = P(v) ~ e^(2 v) (degree 4, powers at G), then y <- y^2 three times: e^(16 v) = e^x'.
// Magnitudes: products of values <= 1 at scale 2G <= 48, P's terms below 2^(G + 24 + 2).
template <class E>
Vec exp_neg(E& eng, std::span<const u64> x, int f, int out, int lg = 0) {
  const int G = work_scale(f);
  const Vec d = eng.add_const(x, encode_at(kExpClip, f));
  const Vec r = eng.nonneg(d, d, sign_width(lg > 0 ? lg : 62 - f, f)).product;
  const Vec v = scaled(eng.add_const(r, encode_at(-kExpClip, f)), pow2(G - f - kExpClipLog2));
  const std::vector<Vec> pw = powers(eng, v, static_cast<int>(kExpCoeffs.size()) - 1, G);
  Vec y = eng.trunc(polynomial(eng, pw, kExpCoeffs, G, kCoeffScale), kCoeffScale);
  for (int k = 0; k < kExpSquarings; ++k) {
    y = eng.trunc(eng.mul(y, y), k + 1 == kExpSquarings ? 2 * G - out : G);
  }
  return y;
}

// GELU(x) = x / 2 + h(x), h even; h(x) -> |x| / 2 beyond the clip point 4. With
//   r1 = relu(x - 4), r2 = relu(-x - 4) (one comparison call; x - 4 and -x - 4 lie in
//   (-2^13, 2^13) for |x| < 2^12, so at width sign_width(13, f) = f + 14),
//   c = x - r1 + r2 = clip(x, -4, 4), hence x + r1 + r2 = c + 2 r1 and
//   GELU(x) = r1 + c / 2 + Q(v),  v = 2 (c / 4)^2 - 1 in [-1, 1],  Q(v) ~ h(4 sqrt((1 + v) / 2))
// (degree 8). Q is evaluated Paterson-Stockmeyer style with the split k = 4:
//   Q = sum_{i < 4} a_i v^i + v^4 A1,  A1 = sum_{j <= 4} a_(4+j) v^j,
// so only v^2 | v^3 v^4 (2 levels of mul and trunc, at scale V) are truncated; v^4 A1 is one
// product at scale S = 2 V + L (A1's coefficients at scale L) whose terms wrap harmlessly mod
// 2^64: only the sum c / 2 + Q at scale S, which is gelu(c) in [-0.2, 4], must stay below 2^61,
// and it is rounded once to f (half added). r1 is exact at f and added after: the large
// outputs never pass through a truncation. v at scale V is c^2 (scale 2f) shifted by
// 2f + 3 - V, minus 1.
template <class E>
Vec gelu(E& eng, std::span<const u64> x, int f) {
  const std::size_t n = x.size();
  const u64 clip = encode_at(kGeluClip, f);
  const Vec d = eng.add_const(concat({x, negated(x)}), ~clip + 1);
  const Vec r = eng.nonneg(d, d, sign_width(kGeluInputBits + 1, f)).product;
  const auto r1 = piece(r, 0, n), r2 = piece(r, 1, n);
  Vec c(x.begin(), x.end());
  for (std::size_t i = 0; i < n; ++i) c[i] += r2[i] - r1[i];
  const int V = std::min(kGeluPowerScale, 2 * f + 2), L = kGeluSumScale - 2 * V;
  const int S = kGeluSumScale, k = kGeluSplit;
  const Vec v = eng.add_const(eng.trunc(eng.mul(c, c), 2 * f + 3 - V), ~pow2(V) + 1);
  const std::vector<Vec> pw = powers(eng, v, k, V);
  Vec a1(n, 0);
  for (std::size_t j = 1; k + j < kGeluCoeffs.size(); ++j) {
    axpy(a1, encode_at(kGeluCoeffs[k + j], L), pw[j - 1]);
  }
  Vec acc = eng.mul(pw[k - 1], eng.add_const(a1, encode_at(kGeluCoeffs[k], V + L)));
  for (int i = 1; i < k; ++i) axpy(acc, encode_at(kGeluCoeffs[i], S - V), pw[i - 1]);
  axpy(acc, pow2(S - f - 1), c);
  Vec out = eng.trunc(eng.add_const(acc, encode_at(kGeluCoeffs[0], S) + pow2(S - f - 1)), S - f);
  axpy(out, 1, r1);
  return out;
}

// The octave of x in [lo, hi] (x at scale fi): thresholds 2^j for j = E0 + 1 .. J
// (E0 = floor(log2 lo), J = floor(log2 hi)), all compared in one call: b_j = [x >= 2^j], so
// the octave e = E0 + sum_j b_j and, b_j being monotone in j, any g(e) telescopes into a
// public linear combination of the bits: g(e) = g(E0) + sum_j b_j (g(j) - g(j - 1)). The
// products b_j x ride the comparison, so m = x 2^-e in [1, 2) is linear too:
//   m 2^(fi + J) = 2^(J - E0) x - sum_j 2^(J - j) b_j x     (exact; wraps harmlessly)
// and is brought to scale G (one truncation when fi + J > G). With 0 < x <= hi < 2^(J + 1),
// every x - 2^j lies in (-2^J, 2^(J + 1)): the comparisons are at width sign_width(J + 1, fi).
struct Octaves {
  int E0 = 0, J = 0;
};
inline Octaves octaves(int fi, double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo)) throw Error(Errc::invalid_argument, "range needs 0 < lo <= hi");
  Octaves o{floor_log2(lo), floor_log2(hi)};
  if (o.E0 + 1 + fi < 0 || fi + o.J > 59) {
    throw Error(Errc::invalid_argument, "range outside what the fixed-point scale resolves");
  }
  return o;
}

struct Normalised {
  Vec m;     // x 2^-e at scale G
  Vec bits;  // b_j, threshold-major (K n values)
  std::size_t K = 0;
};

template <class E>
Normalised normalise(E& eng, std::span<const u64> x, int fi, const Octaves& o, int G) {
  const std::size_t n = x.size();
  Normalised out;
  out.K = static_cast<std::size_t>(o.J - o.E0);
  Vec mx = scaled(x, pow2(o.J - o.E0));
  if (out.K > 0) {
    Vec d, xs;
    for (int j = o.E0 + 1; j <= o.J; ++j) {
      const Vec dj = eng.add_const(x, ~pow2(j + fi) + 1);
      d.insert(d.end(), dj.begin(), dj.end());
      xs.insert(xs.end(), x.begin(), x.end());
    }
    auto s = eng.nonneg(d, xs, sign_width(o.J + 1, fi));
    for (int j = o.E0 + 1; j <= o.J; ++j) {
      axpy(mx, ~pow2(o.J - j) + 1, piece(s.product, static_cast<std::size_t>(j - o.E0 - 1), n));
    }
    out.bits = std::move(s.bits);
  }
  const int at = fi + o.J;
  out.m = at > G ? eng.trunc(mx, at - G) : scaled(mx, pow2(G - at));
  return out;
}

// g(e) at scale s, as the telescoped linear combination of the bits.
template <class E, class Fn>
Vec octave_function(E& eng, const Normalised& nm, std::size_t n, const Octaves& o, Fn g, int s) {
  Vec out(n, 0);
  for (std::size_t k = 0; k < nm.K; ++k) {
    const int j = o.E0 + 1 + static_cast<int>(k);
    axpy(out, encode_at(g(j), s) - encode_at(g(j - 1), s), piece(nm.bits, k, n));
  }
  return eng.add_const(out, encode_at(g(o.E0), s));
}

// 1/x for x in [lo, hi] at scale f, result at scale `out` (<= G + Z):
//   y0 = c - m / 2 (kRecipGuess; |e| <= 0.072 for e = 1 - m y0), z0 = y0 2^-e, then
//   z <- z (1 + e^(2^k)) for k = 0, 1, 2 (Goldschmidt): z = 2^-e y0 (1 - e^8) / (1 - e) =
//   (1 - e^8) / x. y0 at scale G + 1 is exact; z at Z = min(G, 60 - G - log2(1/lo)).
template <class E>
Vec reciprocal(E& eng, std::span<const u64> x, int f, double lo, double hi, int out) {
  const int G = work_scale(f);
  const std::size_t n = x.size();
  const Octaves o = octaves(f, lo, hi);
  const int Z = reciprocal_scale(f, lo);
  const Normalised nm = normalise(eng, x, f, o, G);
  const Vec S = octave_function(
      eng, nm, n, o, [](int e) { return std::ldexp(1.0, -e); }, Z);
  const Vec y0 = eng.add_const(negated(nm.m), encode_at(kRecipGuess, G + 1));
  // m y0 (scale 2G + 1) and y0 S (scale G + 1 + Z), both truncated by G + 1.
  const Vec t = eng.trunc(eng.mul(concat({nm.m, y0}), concat({y0, S})), G + 1);
  Vec e = eng.add_const(negated(piece(t, 0, n)), pow2(G));
  Vec z(t.begin() + static_cast<std::ptrdiff_t>(n), t.end());
  for (int k = 0; k < kRecipSteps; ++k) {
    const Vec factor = eng.add_const(e, pow2(G));
    if (k + 1 == kRecipSteps) return eng.trunc(eng.mul(z, factor), G + Z - out);
    const Vec p = eng.trunc(eng.mul(concat({z, e}), concat({factor, e})), G);
    z.assign(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
    e.assign(p.begin() + static_cast<std::ptrdiff_t>(n), p.end());
  }
  return z;
}

// 1/sqrt(x) for x in [lo, hi] at scale fi, times `gain` (a public constant folded into the
// octave coefficients), result at scale `out`:
//   y0 = c - 9 m / 32 (kRsqrtGuess; |e| <= 0.048 for e = 1 - m y0^2), z0 = y0 g(e) with
//   g(e) = gain 2^(-e/2), then z = z0 (1 - e)^(-1/2) by the series to degree 4,
//   P(e) = (128 + 64 e + 48 e^2 + 40 e^3 + 35 e^4) / 128 (exact dyadic; remainder < 3e-7).
// With `mult` (one value per element at scale f, element i belonging to input i / per, every
// |mult * result| < 2^5), the result is mult * that: z = z0 P(e) is rounded per input to scale
// Zm = 55 - f (so mult z stays below 2^60), then one product and one truncation per element
// (2 rounds more than multiplying mult z0 in the first power level, but one TRIPLE and one
// TRUNC less per element, and there are `per` elements per input).
template <class E>
Vec rsqrt(E& eng, std::span<const u64> x, int fi, double lo, double hi, double gain, int f, int out,
          std::span<const u64> mult = {}, std::size_t per = 1) {
  const int G = work_scale(f);
  const std::size_t n = x.size();
  const Octaves o = octaves(fi, lo, hi);
  const int Z = rsqrt_scale(f, lo, gain);
  const Normalised nm = normalise(eng, x, fi, o, G);
  const Vec S = octave_function(
      eng, nm, n, o, [gain](int e) { return gain * std::exp2(-0.5 * e); }, Z);
  const Vec y0 = eng.add_const(scaled(nm.m, ~u64{kRsqrtSlope} + 1),
                               encode_at(kRsqrtGuess, G + kRsqrtSlopeShift));
  const Vec y2 = eng.trunc(eng.mul(y0, y0), G + 2 * kRsqrtSlopeShift);
  // m y0^2 2^5 (scale 2G + 5) and y0 S (scale G + 5 + Z), both truncated by G + 5.
  const Vec t =
      eng.trunc(eng.mul(concat({scaled(nm.m, pow2(kRsqrtSlopeShift)), y0}), concat({y2, S})),
                G + kRsqrtSlopeShift);
  const Vec e = eng.add_const(negated(piece(t, 0, n)), pow2(G));
  const auto z0 = piece(t, 1, n);
  const Vec e2 = eng.trunc(eng.mul(e, e), G);
  const Vec l2 = eng.trunc(eng.mul(concat({e2, e2}), concat({e, e2})), G);
  Vec P = scaled(e, kRsqrtSeries[1]);
  axpy(P, kRsqrtSeries[2], e2);
  axpy(P, kRsqrtSeries[3], piece(l2, 0, n));
  axpy(P, kRsqrtSeries[4], piece(l2, 1, n));
  P = eng.add_const(P, kRsqrtSeries[0] * pow2(G));
  if (mult.empty()) {
    return eng.trunc(eng.mul(z0, P), G + kRsqrtSeriesShift + Z - out);
  }
  const int Zm = std::min(55 - f, G + kRsqrtSeriesShift + Z - 1);
  const Vec z = eng.trunc(eng.mul(z0, P), G + kRsqrtSeriesShift + Z - Zm);
  Vec zb(mult.size());
  for (std::size_t i = 0; i < mult.size(); ++i) zb[i] = z[i / per];
  return eng.trunc(eng.mul(mult, zb), Zm + f - out);
}

// Row-wise softmax over the first valid[r] columns, |x| < 2^14 (kSoftmaxInputBits): masked
// entries take the row's column 0 for the max (no effect on it), its comparisons at width
// sign_width(15, f) (differences of two entries in (-2^15, 2^15)); z = x - max in (-2^15, 0]
// on the valid entries only, e = exp_neg(z) with its clip at width sign_width(15, f),
// s = the row sum of e in [1, valid[r]], out = e (1/s) with 1/s at scale Z; masked outputs are
// exactly 0 (no share is produced for them).
template <class E>
Vec softmax_rows(E& eng, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                 std::span<const std::uint32_t> valid, int f) {
  if (x.size() != std::size_t{m} * n || valid.size() != m) {
    throw Error(Errc::invalid_argument, "softmax_rows: x is not m x n or valid not m long");
  }
  Vec xm(x.begin(), x.end());
  std::size_t total = 0;
  for (std::uint32_t r = 0; r < m; ++r) {
    if (valid[r] < 1 || valid[r] > n) {
      throw Error(Errc::invalid_argument, "softmax_rows: valid lengths must be in [1, n]");
    }
    for (std::uint32_t j = valid[r]; j < n; ++j) xm[std::size_t{r} * n + j] = x[std::size_t{r} * n];
    total += valid[r];
  }
  const unsigned width = sign_width(kSoftmaxInputBits + 1, f);
  const Vec mx = eng.max_rows(xm, m, n, width);
  Vec z;
  z.reserve(total);
  for (std::uint32_t r = 0; r < m; ++r) {
    for (std::uint32_t j = 0; j < valid[r]; ++j) z.push_back(x[std::size_t{r} * n + j] - mx[r]);
  }
  const Vec e = exp_neg(eng, z, f, f, kSoftmaxInputBits + 1);
  Vec s(m, 0);
  std::vector<std::uint32_t> row_of(total);
  for (std::size_t r = 0, at = 0; r < m; ++r) {
    for (std::uint32_t j = 0; j < valid[r]; ++j, ++at) {
      s[r] += e[at];
      row_of[at] = static_cast<std::uint32_t>(r);
    }
  }
  const int Z = reciprocal_scale(f, 1.0);
  const Vec inv = reciprocal(eng, s, f, 1.0, static_cast<double>(n), Z);
  Vec ib(total);
  for (std::size_t i = 0; i < total; ++i) ib[i] = inv[row_of[i]];
  const Vec p = eng.trunc(eng.mul(e, ib), Z);
  Vec outv(x.size(), 0);
  for (std::size_t r = 0, at = 0; r < m; ++r) {
    for (std::uint32_t j = 0; j < valid[r]; ++j, ++at) outv[r * n + j] = p[at];
  }
  return outv;
}

// (x - mean) / sqrt(var + eps) per row of d, without gamma / beta:
//   mean = (sum x) round(2^F1 / d) >> F1 with F1 = 60 - f - 12 (|x| < 2^12);
//   delta = x - mean; S2 = sum delta^2 at scale 2f, exact (no truncation): d var = S2, so
//   1/sqrt(var + eps) = sqrt(d) / sqrt(S2 + d eps), the rsqrt of S2 over [d lo, d hi] at input
//   scale 2f with gain sqrt(d), its multiplier delta (|delta / sqrt(var + eps)| <= sqrt(d) <= 32).
template <class E>
Vec layer_norm(E& eng, std::span<const u64> x, std::uint32_t rows, std::uint32_t d, double eps,
               int f) {
  if (x.size() != std::size_t{rows} * d || d == 0 || d > kLayerNormMaxWidth) {
    throw Error(Errc::invalid_argument, "layer_norm: x is not rows x d, or d outside [1, 1024]");
  }
  const int F1 = 60 - f - kLayerNormInputBits;
  Vec sums(rows, 0);
  for (std::size_t i = 0; i < x.size(); ++i) sums[i / d] += x[i];
  const Vec mean = eng.trunc(scaled(sums, encode_at(1.0 / d, F1)), F1);
  Vec delta(x.begin(), x.end());
  for (std::size_t i = 0; i < x.size(); ++i) delta[i] -= mean[i / d];
  const Vec sq = eng.mul(delta, delta);
  Vec s2(rows, 0);
  for (std::size_t i = 0; i < sq.size(); ++i) s2[i / d] += sq[i];
  s2 = eng.add_const(s2, encode_at(eps * d, 2 * f));
  const double hi = layer_norm_var_hi(f, d);
  return rsqrt(eng, s2, 2 * f, kLayerNormVarLo * d, hi * d, std::sqrt(static_cast<double>(d)), f, f,
               delta, d);
}

}  // namespace ppi::approx::program
