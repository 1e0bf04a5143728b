#include <doctest/doctest.h>

#include "mpc/beaver.hpp"
#include "mpc/linear.hpp"
#include "mpc/truncate.hpp"
#include "ring/fixed_point.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

// 0, -1, 1 and the largest magnitudes with |x| < 2^62, then random values of that range.
std::vector<u64> edge_and_random(std::size_t random_count) {
  const u64 top = (u64{1} << 62) - 1;
  std::vector<u64> x{0, ~u64{0}, 1, top, ~top + 1, u64{1} << 61, ~(u64{1} << 61) + 1};
  const std::vector<u64> r = random_signed(random_count, 62);
  x.insert(x.end(), r.begin(), r.end());
  return x;
}

}  // namespace

TEST_CASE("inputs, local linear operations, open and reveal") {
  const std::vector<u64> x = random_words(9), y = random_words(9), c = random_words(9);
  const Split sy = split(y);
  // These operations take no material; the batch still needs a plan.
  const auto plan = material::MaterialPlan::parse(R"([{"type":"TRIPLE","count":1}])");
  const TwoPartyRun run = run_two_party(plan, [&](Party& p) -> std::vector<Shares> {
    const Shares xs = p.is_model_owner() ? share_own_input(x) : share_peer_input(x.size());
    const Shares& ys = mine(p, sy);
    Shares lin = add_public(p, sub(mul_public(add(xs, ys), 3), ys), c);
    lin = add_public(p, lin, u64{5});
    const std::vector<u64> opened = open(p, lin);
    const std::vector<u64> revealed = reveal_to_client(p, xs);
    // Both parties return the opened values as "shares" of party 0 only, to compare below.
    return {lin, p.is_model_owner() ? opened : Shares(9, 0), revealed,
            Shares(1, p.is_model_owner() ? 0 : 1)};
  });
  std::vector<u64> expect(9);
  for (std::size_t i = 0; i < 9; ++i) expect[i] = (x[i] + y[i]) * 3 - y[i] + c[i] + 5;
  CHECK(run.opened(0) == expect);
  CHECK(run.mo.out[1] == expect);
  CHECK(run.mo.out[2].empty());  // the model owner learns nothing from a reveal
  CHECK(run.client.out[2] == x);
  CHECK(run.mo.rounds == 2);
  CHECK(run.client.rounds == 2);
  CHECK(run.mo.bytes_sent == 2 * 9 * 8);
  CHECK(run.client.bytes_sent == 9 * 8);
}

TEST_CASE("elementwise Beaver product equals the ring product, edge values included") {
  std::vector<u64> x = random_words(200), y = random_words(200);
  const std::vector<u64> edges{0, ~u64{0}, 1, u64{1} << 63, (u64{1} << 63) - 1};
  for (u64 a : edges) {
    for (u64 b : edges) {
      x.push_back(a);
      y.push_back(b);
    }
  }
  const Split sx = split(x), sy = split(y);
  const TwoPartyRun run = run_recorded(
      [&](Party& p) -> std::vector<Shares> { return {mul(p, mine(p, sx), mine(p, sy))}; });
  const std::vector<u64> z = run.opened(0);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(z[i] == x[i] * y[i]);
  CHECK(run.mo.rounds == 1);
  CHECK(run.mo.bytes_sent == 2 * x.size() * 8);
}

TEST_CASE("matrix Beaver product equals the plaintext GEMM") {
  const std::uint32_t m = 5, k = 7, n = 3;
  const std::vector<u64> x = random_words(m * k), y = random_words(k * n);
  const Split sx = split(x), sy = split(y);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    return {matmul(p, mine(p, sx), mine(p, sy), m, k, n)};
  });
  CHECK(run.opened(0) == plain_matmul(x, y, m, k, n));
  CHECK(run.mo.rounds == 1);
  CHECK_THROWS_AS(run_recorded([&](Party& p) -> std::vector<Shares> {
                    return {matmul(p, mine(p, sx), mine(p, sy), m, k + 1, n)};
                  }),
                  Error);
}

TEST_CASE("batched matrix products (one per attention head) in one round") {
  const std::uint32_t count = 4, m = 6, k = 5, n = 7;
  const std::vector<u64> x = random_words(count * m * k), y = random_words(count * k * n);
  const Split sx = split(x), sy = split(y);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    return {matmul_batched(p, mine(p, sx), mine(p, sy), count, m, k, n)};
  });
  const std::vector<u64> z = run.opened(0);
  REQUIRE(z.size() == count * m * n);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::vector<u64> xi(x.begin() + i * m * k, x.begin() + (i + 1) * m * k);
    const std::vector<u64> yi(y.begin() + i * k * n, y.begin() + (i + 1) * k * n);
    const std::vector<u64> zi(z.begin() + i * m * n, z.begin() + (i + 1) * m * n);
    CHECK(zi == plain_matmul(xi, yi, m, k, n));
  }
  CHECK(run.mo.rounds == 1);
  CHECK(run.mo.material_left == 0);
  CHECK(run.mo.bytes_sent == 8 * count * (m * k + k * n));
  CHECK_THROWS_AS(run_recorded([&](Party& p) -> std::vector<Shares> {
                    return {matmul_batched(p, mine(p, sx), mine(p, sy), count + 1, m, k, n)};
                  }),
                  Error);
  CHECK_THROWS_AS(run_recorded([&](Party& p) -> std::vector<Shares> {
                    return {matmul_batched(p, {}, {}, 0, m, k, n)};
                  }),
                  Error);
}

TEST_CASE("linear layer with private weights: X W through the weight mask, F sent once") {
  const std::uint32_t m = 4, k = 6, n = 5;
  const std::vector<u64> w = random_words(k * n);
  const std::vector<u64> x1 = random_words(m * k), x2 = random_words(2 * k);
  const Split s1 = split(x1), s2 = split(x2);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    const PrivateWeights weights = share_private_weights(
        p, p.is_model_owner() ? std::span<const u64>(w) : std::span<const u64>(), k, n);
    Shares y1 = linear(p, weights, mine(p, s1), m);
    Shares y2 = linear(p, weights, mine(p, s2), 2);
    return {y1, y2};
  });
  CHECK(run.opened(0) == plain_matmul(x1, w, m, k, n));
  CHECK(run.opened(1) == plain_matmul(x2, w, 2, k, n));
  // F once (MO -> C), then E per call (C -> MO), one way each.
  CHECK(run.mo.bytes_sent == std::uint64_t{k} * n * 8);
  CHECK(run.client.bytes_sent == std::uint64_t{m + 2} * k * 8);
  CHECK(run.mo.rounds == 3);
}

TEST_CASE("linear layer: W of the wrong size, or weights at the client, are refused") {
  const std::vector<u64> w = random_words(6);
  CHECK_THROWS_AS(
      run_two_party(material::MaterialPlan::parse(R"([{"type":"WEIGHT_MASK_2_4","count":1}])"),
                    [&](Party& p) -> std::vector<Shares> {
                      share_private_weights(p, w, 2, 4);
                      return {};
                    }),
      Error);
}

TEST_CASE("exact truncation: floor(x / 2^f) or one more, for edge and random values") {
  const std::vector<u64> x = edge_and_random(500);
  const Split sx = split(x);
  for (int f : {1, 8, 16, 40}) {
    const TwoPartyRun run = run_recorded(
        [&](Party& p) -> std::vector<Shares> { return {truncate(p, mine(p, sx))}; }, f);
    const std::vector<u64> z = run.opened(0);
    std::size_t exact = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::int64_t diff = as_signed(z[i] - truncate_plain(x[i], f));
      CHECK_MESSAGE((diff == 0 || diff == 1), "x=", as_signed(x[i]), " f=", f);
      exact += diff == 0;
    }
    CHECK(exact > 0);
    CHECK(run.mo.rounds == 1);
  }
}

TEST_CASE("truncation of fixed-point products matches the plaintext fixed-point product") {
  const FixedPoint fp(16);
  const std::vector<double> a{0.0, -1.0, 1.5, -3.25, 1000.125, -0.015625, 12345.678};
  const std::vector<double> b{2.0, -1.0, -2.5, 0.5, -999.0, 3.0, 0.0078125};
  const std::vector<u64> ea = fp.encode(a), eb = fp.encode(b);
  const Split sa = split(ea), sb = split(eb);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    return {truncate(p, mul(p, mine(p, sa), mine(p, sb)))};
  });
  const std::vector<u64> z = run.opened(0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const u64 ref = truncate_plain(ea[i] * eb[i], 16);
    CHECK(as_signed(z[i] - ref) >= 0);
    CHECK(as_signed(z[i] - ref) <= 1);
    CHECK(fp.decode(z[i]) == doctest::Approx(a[i] * b[i]).epsilon(1e-3));
  }
}

TEST_CASE("truncation parameters out of range are refused") {
  const material::MaterialPlan plan =
      material::MaterialPlan::parse(R"([{"type":"TRUNC_16","count":1}])");
  for (auto [f, l] : std::vector<std::pair<int, int>>{{0, 62}, {17, 16}, {16, 63}}) {
    CHECK_THROWS_AS(run_two_party(plan,
                                  [&](Party& p) -> std::vector<Shares> {
                                    return {truncate(p, Shares(1, 0), f, l)};
                                  }),
                    Error);
  }
}
