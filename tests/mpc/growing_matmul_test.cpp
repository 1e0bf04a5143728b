// mpc::GrowingMatmul against plaintext: a generation's products with a cache that grows by
// columns (keys) and by rows (values), one triple per product for every step, the cache's
// entries opened once.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "mpc/growing_matmul.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

constexpr std::uint32_t kCount = 3, kSteps = 4;

// Entries of a k x n operand, row-major, in `order`, and their values in every product.
struct Entries {
  std::vector<std::uint32_t> at;
  Split values;
};

Entries entries(const std::vector<u64>& y, std::uint32_t kn, std::vector<std::uint32_t> at) {
  std::vector<u64> v(kCount * at.size());
  for (std::uint32_t i = 0; i < kCount; ++i) {
    for (std::size_t j = 0; j < at.size(); ++j) v[i * at.size() + j] = y[i * kn + at[j]];
  }
  return {std::move(at), split(v)};
}

}  // namespace

TEST_CASE("growing product, keys: each step's row times the columns set so far") {
  // Y = K^T (k x n): two columns set before the first step, one more with each step.
  const std::uint32_t k = 5, n = 2 + kSteps, kn = k * n;
  const std::vector<u64> y = random_words(kCount * kn), x = random_words(kSteps * kCount * k);
  auto column = [&](std::uint32_t j) {
    std::vector<std::uint32_t> at(k);
    for (std::uint32_t c = 0; c < k; ++c) at[c] = c * n + j;
    return at;
  };
  std::vector<Entries> sets;
  std::vector<std::uint32_t> first = column(0), second = column(1);
  first.insert(first.end(), second.begin(), second.end());
  sets.push_back(entries(y, kn, first));
  for (std::uint32_t t = 0; t < kSteps; ++t) sets.push_back(entries(y, kn, column(2 + t)));
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    GrowingMatmul g(p, kCount, kSteps, k, n);
    g.set(sets[0].at, mine(p, sets[0].values));
    std::vector<Shares> out;
    for (std::uint32_t t = 0; t < kSteps; ++t) {
      g.set(sets[t + 1].at, mine(p, sets[t + 1].values));
      const Shares& all = mine(p, sx);
      out.push_back(g.multiply(
          p, std::span<const u64>(all).subspan(std::size_t{t} * kCount * k, kCount * k)));
    }
    CHECK_THROWS_AS(g.multiply(p, std::span<const u64>(mine(p, sx)).first(kCount * k)), Error);
    out.push_back(g.operand(p));
    return out;
  });
  for (std::uint32_t t = 0; t < kSteps; ++t) {
    const std::vector<u64> z = run.opened(t);
    REQUIRE(z.size() == kCount * n);
    const std::uint32_t known = 3 + t;  // columns set by step t
    for (std::uint32_t i = 0; i < kCount; ++i) {
      const std::vector<u64> xi(x.begin() + (t * kCount + i) * k,
                                x.begin() + (t * kCount + i + 1) * k);
      const std::vector<u64> want =
          plain_matmul(xi, std::span<const u64>(y).subspan(i * kn, kn), 1, k, n);
      for (std::uint32_t j = 0; j < known; ++j) CHECK(z[i * n + j] == want[j]);
    }
  }
  CHECK(run.opened(kSteps) == y);  // the shares the cache holds are still Y's
  // One round per step; a step sends its rows and the entries set since the last one, once.
  CHECK(run.mo.rounds == kSteps);
  CHECK(run.mo.bytes_sent == 8 * kCount * (kSteps * k + kn));
  CHECK(run.mo.material_left == 0);
}

TEST_CASE("growing product, values: rows 0 where the operand is not set yet") {
  // Y = V (n x k): three rows set before the first step, one more with each; x_t is 0 on the
  // rows not set yet (the causal mask), so x_t Y is exact in every column.
  const std::uint32_t n = 3 + kSteps, k = 4, kn = n * k;
  const std::vector<u64> y = random_words(kCount * kn);
  std::vector<u64> x = random_words(kSteps * kCount * n);
  for (std::uint32_t t = 0; t < kSteps; ++t) {
    for (std::uint32_t i = 0; i < kCount; ++i) {
      for (std::uint32_t j = 4 + t; j < n; ++j) x[(t * kCount + i) * n + j] = 0;
    }
  }
  auto rows = [&](std::uint32_t from, std::uint32_t count) {
    std::vector<std::uint32_t> at(std::size_t{count} * k);
    std::iota(at.begin(), at.end(), from * k);
    return at;
  };
  std::vector<Entries> sets{entries(y, kn, rows(0, 3))};
  for (std::uint32_t t = 0; t < kSteps; ++t) sets.push_back(entries(y, kn, rows(3 + t, 1)));
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    GrowingMatmul g(p, kCount, kSteps, n, k);
    g.set(sets[0].at, mine(p, sets[0].values));
    CHECK_THROWS_AS(g.set(rows(2, 1), Shares(kCount * k, 0)), Error);               // set before
    CHECK_THROWS_AS(g.set(std::vector<std::uint32_t>{kn}, Shares(kCount)), Error);  // outside
    CHECK_THROWS_AS(g.set(rows(3, 1), Shares(1)), Error);                           // sizes
    std::vector<Shares> out;
    for (std::uint32_t t = 0; t < kSteps; ++t) {
      g.set(sets[t + 1].at, mine(p, sets[t + 1].values));
      const Shares& all = mine(p, sx);
      out.push_back(g.multiply(
          p, std::span<const u64>(all).subspan(std::size_t{t} * kCount * n, kCount * n)));
    }
    return out;
  });
  for (std::uint32_t t = 0; t < kSteps; ++t) {
    const std::vector<u64> z = run.opened(t);
    for (std::uint32_t i = 0; i < kCount; ++i) {
      const std::vector<u64> xi(x.begin() + (t * kCount + i) * n,
                                x.begin() + (t * kCount + i + 1) * n);
      const std::vector<u64> zi(z.begin() + i * k, z.begin() + (i + 1) * k);
      CHECK(zi == plain_matmul(xi, std::span<const u64>(y).subspan(i * kn, kn), 1, n, k));
    }
  }
  CHECK(run.mo.rounds == kSteps);
  CHECK(run.mo.bytes_sent == 8 * kCount * (kSteps * n + kn));
}
