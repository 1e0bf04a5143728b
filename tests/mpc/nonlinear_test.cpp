#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "approx/fixed_functions.hpp"
#include "mpc/boolean.hpp"
#include "mpc/nonlinear.hpp"
#include "ring/fixed_point.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

double gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

// A dense grid over [lo, hi], random points in it, and the given edges.
std::vector<double> grid(double lo, double hi, std::size_t dense, std::size_t random,
                         std::initializer_list<double> edges) {
  std::vector<double> xs(edges);
  for (std::size_t i = 0; i < dense; ++i) xs.push_back(lo + (hi - lo) * i / (dense - 1));
  for (u64 r : random_words(random)) xs.push_back(lo + (hi - lo) * (r >> 11) * 0x1p-53);
  return xs;
}
// Geometric grid for ranges over many octaves.
std::vector<double> log_grid(double lo, double hi, std::size_t dense, std::size_t random) {
  std::vector<double> xs{lo, hi};
  const double a = std::log2(lo), b = std::log2(hi);
  for (std::size_t i = 0; i < dense; ++i) xs.push_back(std::exp2(a + (b - a) * i / (dense - 1)));
  for (u64 r : random_words(random)) xs.push_back(std::exp2(a + (b - a) * (r >> 11) * 0x1p-53));
  for (int e = static_cast<int>(std::ceil(a)); e <= b; ++e) {  // octave edges and neighbours
    for (double d : {-1.0, 0.0, 1.0})
      xs.push_back(std::max(lo, std::min(hi, std::exp2(e) + d / 65536)));
  }
  return xs;
}

struct Measured {
  double max_abs = 0, max_rel = 0;  // against the double function
  double worst = 0;                 // the largest error over its bound
  std::int64_t max_ulps = 0;        // private against approx::
  std::uint64_t rounds = 0;
};

using Private = std::function<Shares(Party&, std::span<const u64>)>;
using Plain = std::function<std::vector<u64>(std::span<const u64>)>;

// Runs `priv` on the encoded xs (shared by the client), and compares it with `exact` in double
// and with the plaintext reference `plain`.
Measured measure(const std::vector<double>& xs, int f, const Private& priv, const Plain& plain,
                 const std::function<double(double)>& exact,
                 const std::function<double(double)>& bound, double rel_floor = 1e-3) {
  const FixedPoint fp(f);
  const std::vector<u64> x = fp.encode(xs);
  const Split sx = split(x);
  const TwoPartyRun run =
      run_recorded([&](Party& p) -> std::vector<Shares> { return {priv(p, mine(p, sx))}; }, f);
  const std::vector<u64> got = run.opened(0), ref = plain(x);
  Measured m;
  m.rounds = run.mo.rounds;
  CHECK(run.mo.material_left == 0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = exact(fp.decode(x[i])), have = fp.decode(got[i]);
    const double err = std::abs(have - want);
    m.max_abs = std::max(m.max_abs, err);
    m.worst = std::max(m.worst, err / bound(want));
    if (std::abs(want) > rel_floor) m.max_rel = std::max(m.max_rel, err / std::abs(want));
    m.max_ulps = std::max(m.max_ulps, std::abs(as_signed(got[i] - ref[i])));
  }
  MESSAGE("f=", f, " abs ", m.max_abs, " rel ", m.max_rel, " ulps vs approx ", m.max_ulps,
          " rounds ", m.rounds);
  CHECK(m.worst <= 1.0);
  return m;
}

}  // namespace

// Bounds per f (12, 16, 20): a + b |y| against the double function, and the private result
// within `ulps` of the plaintext reference. The values in approx/fixed_functions.hpp and
// docs/nonlinear.md are these at f = 16.
struct Bound {
  int f;
  double a, b;
  std::int64_t ulps;
};

TEST_CASE("exp_neg over [-20, 0] and far below the clip at -16: 19 rounds") {
  for (const Bound& bd : {Bound{16, 2.5e-5, 0, 4}, Bound{12, 3e-4, 0, 4}, Bound{20, 8e-6, 0, 6}}) {
    const int f = bd.f;
    const auto xs = grid(-20, 0, 4001, 1000,
                         {0.0, -16.0, -16.0 - 1.0 / 4096, -15.99, -1e-4, -1.0, -100.0, -3000.0});
    const Measured m = measure(
        xs, f, [](Party& p, std::span<const u64> x) { return exp_neg(p, x); },
        [f](std::span<const u64> x) { return approx::exp_neg(x, f); },
        [](double x) { return std::exp(x); }, [bd](double y) { return bd.a + bd.b * y; });
    CHECK(m.max_ulps <= bd.ulps);
    CHECK(m.rounds == 19);
  }
}

TEST_CASE("gelu over [-12, 12], the clip points and out to the bound 2^12: 15 rounds") {
  for (const Bound& bd : {Bound{16, 1e-4, 0, 4}, Bound{12, 4.5e-4, 0, 4}, Bound{20, 8e-5, 0, 8}}) {
    const int f = bd.f;
    const double edge = 4096 - std::ldexp(1, -f);  // the largest |x| below 2^12
    const auto xs =
        grid(-12, 12, 6001, 1000, {0.0, 4.0, -4.0, 4.0001, -4.0001, 100.0, -100.0, edge, -edge});
    const Measured m = measure(
        xs, f, [](Party& p, std::span<const u64> x) { return gelu(p, x); },
        [f](std::span<const u64> x) { return approx::gelu(x, f); }, gelu_tanh,
        [bd](double) { return bd.a; });
    CHECK(m.max_ulps <= bd.ulps);
    // The clip comparisons at width f + 14, then 8 rounds.
    CHECK(m.rounds == 1 + msb_rounds(static_cast<unsigned>(f) + 14) + 8);
  }
}

TEST_CASE("reciprocal over [1, 64] (15 rounds) and [1, 1024]: within 1.2 ulp + 1e-6 |y|") {
  for (int f : {16, 12, 20}) {
    for (double hi : {64.0, 1024.0}) {
      const auto xs = log_grid(1, hi, 4001, 1000);
      const Measured m = measure(
          xs, f, [hi](Party& p, std::span<const u64> x) { return reciprocal(p, x, 1, hi); },
          [f, hi](std::span<const u64> x) { return approx::reciprocal(x, f, 1, hi); },
          [](double x) { return 1 / x; },
          [f](double y) { return 1.2 * std::ldexp(1, -f) + 1e-6 * y; });
      CHECK(m.max_ulps <= 2);
      // The octave comparisons at width f + log2(hi) + 2, then 8 rounds, and t = 1 (a
      // truncation of m) when f + log2(hi) > G = min(f + 8, 24).
      const auto J = static_cast<unsigned>(std::log2(hi));
      CHECK(m.rounds == 1 + msb_rounds(static_cast<unsigned>(f) + J + 2) + 8 +
                            (f + std::log2(hi) > std::min(f + 8, 24) ? 1u : 0u));
    }
  }
}

TEST_CASE("rsqrt over [2^-12, 2^16]: within 1.2 ulp + 2e-7 |y|, 18 or 19 rounds") {
  for (int f : {16, 12, 20}) {
    const auto xs = log_grid(std::ldexp(1, -12), 65536, 6001, 1000);
    const Measured m = measure(
        xs, f, [](Party& p, std::span<const u64> x) { return rsqrt(p, x, 0x1p-12, 65536); },
        [f](std::span<const u64> x) { return approx::rsqrt(x, f, 0x1p-12, 65536); },
        [](double x) { return 1 / std::sqrt(x); },
        [f](double y) { return 1.2 * std::ldexp(1, -f) + 2e-7 * y; });
    CHECK(m.max_ulps <= (f == 20 ? 8 : 4));  // G = f + 4 only at f = 20
    // The octave comparisons at width f + 18, then 11 rounds.
    CHECK(m.rounds == 1 + msb_rounds(static_cast<unsigned>(f) + 18) + 11);
  }
}

TEST_CASE("reciprocal within one octave needs no comparison; bad parameters are refused") {
  const FixedPoint fp(16);
  const std::vector<u64> x = fp.encode(std::vector<double>{1.0, 1.25, 1.5, 1.999});
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded(
      [&](Party& p) -> std::vector<Shares> { return {reciprocal(p, mine(p, sx), 1, 1.999)}; });
  const std::vector<u64> got = run.opened(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(std::abs(fp.decode(got[i]) - 1 / fp.decode(x[i])) < 2e-5);
  }
  CHECK(run.mo.rounds == 8);
  CHECK_THROWS_AS(approx::reciprocal(x, 16, 0, 4), Error);
  CHECK_THROWS_AS(approx::reciprocal(x, 16, 4, 2), Error);
  CHECK_THROWS_AS(approx::exp_neg(x, 24), Error);
  CHECK_THROWS_AS(approx::rsqrt(x, 16, 1e-9, 4), Error);
  const std::vector<std::uint32_t> bad{0, 3};
  CHECK_THROWS_AS(approx::softmax_rows(x, 2, 2, bad, 16), Error);
  CHECK_THROWS_AS(approx::layer_norm(x, 1, 3, 1e-5, 16), Error);
}

namespace {

std::vector<double> uniform(std::size_t n, double lo, double hi) {
  std::vector<double> xs;
  for (u64 r : random_words(n)) xs.push_back(lo + (hi - lo) * (r >> 11) * 0x1p-53);
  return xs;
}

}  // namespace

TEST_CASE("softmax_rows: causal valid lengths, masked columns exactly 0, rows sum to 1") {
  const int f = 16;
  const FixedPoint fp(f);
  const std::uint32_t T = 64, heads = 3, m = T * heads, n = T;
  std::vector<double> xs = uniform(std::size_t{m} * n, -8, 8);
  // Head 1: a wide spread (entries far below the clip); head 2: all equal in some rows, and
  // rows at the input bound |x| < 2^14 (entries +-edge, the max either sign).
  for (std::size_t i = T * n; i < 2 * T * n; ++i) xs[i] *= 6;
  for (std::size_t r = 2 * T; r < 2 * T + 10; ++r) {
    for (std::uint32_t j = 0; j < n; ++j) xs[r * n + j] = 3.25;
  }
  const double edge = 16384 - std::ldexp(1, -f);
  for (std::size_t r = 2 * T + 10; r < 2 * T + 40; ++r) {
    for (std::uint32_t j = 0; j < n; ++j) xs[r * n + j] = ((r + j) % 3 ? -edge : edge);
  }
  for (std::size_t r = 2 * T + 40; r < 2 * T + 50; ++r) {
    for (std::uint32_t j = 0; j < n; ++j) xs[r * n + j] = (j % 5 ? -edge : -edge + 0.5);
  }
  std::vector<std::uint32_t> valid(m);
  for (std::uint32_t r = 0; r < m; ++r) valid[r] = r % T + 1;
  const std::vector<u64> x = fp.encode(xs);
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded(
      [&](Party& p) -> std::vector<Shares> { return {softmax_rows(p, mine(p, sx), m, n, valid)}; },
      f);
  const std::vector<u64> got = run.opened(0), ref = approx::softmax_rows(x, m, n, valid, f);
  double max_abs = 0, max_sum = 0;
  std::int64_t max_ulps = 0;
  for (std::uint32_t r = 0; r < m; ++r) {
    double mx = -1e300, den = 0, sum = 0;
    for (std::uint32_t j = 0; j < valid[r]; ++j) mx = std::max(mx, fp.decode(x[r * n + j]));
    for (std::uint32_t j = 0; j < valid[r]; ++j) den += std::exp(fp.decode(x[r * n + j]) - mx);
    for (std::uint32_t j = 0; j < n; ++j) {
      const std::size_t i = std::size_t{r} * n + j;
      if (j >= valid[r]) {
        CHECK(got[i] == 0);
        continue;
      }
      const double want = std::exp(fp.decode(x[i]) - mx) / den, have = fp.decode(got[i]);
      max_abs = std::max(max_abs, std::abs(have - want));
      sum += have;
      max_ulps = std::max(max_ulps, std::abs(as_signed(got[i] - ref[i])));
    }
    max_sum = std::max(max_sum, std::abs(sum - 1));
    if (valid[r] == 1) CHECK(std::abs(fp.decode(got[std::size_t{r} * n]) - 1) < 1e-4);
  }
  MESSAGE("softmax abs ", max_abs, " row sum ", max_sum, " ulps vs approx ", max_ulps, " rounds ",
          run.mo.rounds);
  CHECK(max_abs < 2e-4);
  CHECK(max_sum < 2e-4);
  // The mean's 1-ulp noise over the spread: up to 1 / 0.02 = 50 output ulps in the narrowest
  // row (4 to 50 measured over runs).
  CHECK(max_ulps <= 64);
  CHECK(run.mo.material_left == 0);
  // max_rows 6 levels of 7 (width 32), exp_neg 18 (its clip at width 32), reciprocal over
  // [1, 64] 15 (width 24), the product 2.
  CHECK(run.mo.rounds == 42 + 18 + 15 + 2);
}

TEST_CASE("layer_norm across input scales: mean 0, variance 1, 23 rounds") {
  const int f = 16;
  const FixedPoint fp(f);
  const std::uint32_t d = 768;
  const std::vector<std::pair<double, double>> rows_spec{
      {0, 1}, {0, 0.05}, {3, 10}, {-50, 100}, {1000, 200}, {-3000, 0.5}, {0, 250}, {0.5, 0.02}};
  const auto rows = static_cast<std::uint32_t>(rows_spec.size());
  std::vector<double> xs;
  for (const auto& [mean, spread] : rows_spec) {
    for (double v : uniform(d, -1, 1)) xs.push_back(mean + spread * std::sqrt(3.0) * v);
  }
  const double eps = 1e-5;
  const std::vector<u64> x = fp.encode(xs);
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded(
      [&](Party& p) -> std::vector<Shares> { return {layer_norm(p, mine(p, sx), rows, d, eps)}; },
      f);
  const std::vector<u64> got = run.opened(0), ref = approx::layer_norm(x, rows, d, eps, f);
  double max_abs = 0, max_mean = 0, max_var = 0;
  std::int64_t max_ulps = 0;
  for (std::uint32_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0, omu = 0, ovar = 0;
    for (std::uint32_t j = 0; j < d; ++j) mu += fp.decode(x[r * d + j]) / d;
    for (std::uint32_t j = 0; j < d; ++j) var += std::pow(fp.decode(x[r * d + j]) - mu, 2) / d;
    for (std::uint32_t j = 0; j < d; ++j) {
      const std::size_t i = std::size_t{r} * d + j;
      const double want = (fp.decode(x[i]) - mu) / std::sqrt(var + eps), have = fp.decode(got[i]);
      max_abs = std::max(max_abs, std::abs(have - want));
      max_ulps = std::max(max_ulps, std::abs(as_signed(got[i] - ref[i])));
      omu += have / d;
    }
    for (std::uint32_t j = 0; j < d; ++j) ovar += std::pow(fp.decode(got[r * d + j]) - omu, 2) / d;
    max_mean = std::max(max_mean, std::abs(omu));
    max_var = std::max(max_var, std::abs(ovar - var / (var + eps)));
  }
  MESSAGE("layer_norm abs ", max_abs, " mean ", max_mean, " var ", max_var, " ulps vs approx ",
          max_ulps, " rounds ", run.mo.rounds);
  CHECK(max_abs < 1e-3);
  CHECK(max_mean < 1e-3);
  CHECK(max_var < 1e-4);
  // The mean's 1-ulp noise over the spread: up to 1 / 0.02 = 50 output ulps in the narrowest
  // row (4 to 50 measured over runs).
  CHECK(max_ulps <= 64);
  CHECK(run.mo.material_left == 0);
  CHECK(run.mo.rounds == 23);
}
