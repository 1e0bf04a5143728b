#include <doctest/doctest.h>

#include <algorithm>

#include "mpc/boolean.hpp"
#include "mpc/compare.hpp"
#include "two_party.hpp"

using namespace ppi;
using namespace ppi::mpc;
using namespace ppi::mpc::test;

namespace {

const u64 kTop = (u64{1} << 62) - 1;  // the largest magnitude of l = 62

// Values at the comparison boundary and the extremes of the encoding, then random ones.
std::vector<u64> boundary_and_random(std::size_t random_count) {
  std::vector<u64> x{0, ~u64{0}, 1, 2, ~u64{1}, kTop, ~kTop + 1, u64{1} << 61};
  const std::vector<u64> r = random_signed(random_count, 62);
  x.insert(x.end(), r.begin(), r.end());
  return x;
}

Shares as_shares(const BitShares& b) {
  return Shares(b.words.begin(), b.words.end());
}

std::vector<u64> xor_open(const TwoPartyRun& run, std::size_t k) {
  std::vector<u64> z(run.mo.out[k].size());
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = run.mo.out[k][i] ^ run.client.out[k][i];
  return z;
}

// The opened maxima and first indices of the maxima of each row against plaintext.
void check_row_argmax(const std::vector<u64>& x, std::uint32_t m, std::uint32_t n,
                      const std::vector<u64>& vals, const std::vector<u64>& idx,
                      const std::vector<u64>& maxes) {
  for (std::uint32_t r = 0; r < m; ++r) {
    std::uint32_t best = 0;
    for (std::uint32_t j = 1; j < n; ++j) {
      if (as_signed(x[r * n + j]) > as_signed(x[r * n + best])) best = j;
    }
    CHECK(idx[r] == best);
    CHECK(vals[r] == x[r * n + best]);
    CHECK(maxes[r] == x[r * n + best]);
  }
}

}  // namespace

TEST_CASE("AND of XOR-shared words") {
  const std::vector<u64> x = random_words(11), y = random_words(11);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    // Party 0 holds x, party 1 holds y: each shares its input as (value, 0).
    const std::vector<u64> zero(11, 0);
    return {and_words(p, p.is_model_owner() ? x : zero, p.is_model_owner() ? zero : y)};
  });
  const std::vector<u64> z = xor_open(run, 0);
  for (std::size_t i = 0; i < 11; ++i) CHECK(z[i] == (x[i] & y[i]));
  CHECK(run.mo.rounds == 1);
}

TEST_CASE("MSB by the prefix adder: XOR bits and arithmetic bits, for every kind of 64-bit x") {
  std::vector<u64> x = boundary_and_random(300);
  for (u64 v : {u64{1} << 63, (u64{1} << 63) - 1, (u64{1} << 63) + 1}) x.push_back(v);
  const std::vector<u64> r = random_words(100);  // the whole ring, not only the encoding
  x.insert(x.end(), r.begin(), r.end());
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    const BitShares bits = msb_bits(p, mine(p, sx));
    return {as_shares(bits), msb(p, mine(p, sx))};
  });
  const std::vector<u64> bits = xor_open(run, 0);
  const std::vector<u64> arith = run.opened(1);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(((bits[i / 64] >> (i % 64)) & 1) == x[i] >> 63);
    CHECK(arith[i] == x[i] >> 63);
  }
  // msb_bits: 7 rounds; msb: 8 more.
  CHECK(run.mo.rounds == 15);
}

TEST_CASE("MSB when a share is 0 (an input shared by its owner) and with carries everywhere") {
  const std::vector<u64> x{0, ~u64{0}, 1, u64{1} << 63, kTop, ~kTop + 1};
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    const Shares own = p.is_model_owner() ? share_own_input(x) : share_peer_input(x.size());
    // Shares -1 and x + 1: their sum is x, and adding them carries through every bit.
    const Shares carry =
        p.is_model_owner() ? Shares(x.size(), ~u64{0}) : add(x, Shares(x.size(), 1));
    return {msb(p, own), msb(p, carry)};
  });
  const std::vector<u64> a = run.opened(0), b = run.opened(1);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(a[i] == x[i] >> 63);
    CHECK(b[i] == x[i] >> 63);
  }
}

TEST_CASE("b2a with daBits") {
  const std::vector<u64> words = random_words(3);
  const std::size_t count = 150;
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    BitShares b{p.is_model_owner() ? words : std::vector<u64>(3, 0), count};
    return {b2a(p, b), b2a(p, flip(p, b))};
  });
  const std::vector<u64> a = run.opened(0), na = run.opened(1);
  for (std::size_t i = 0; i < count; ++i) {
    const u64 bit = (words[i / 64] >> (i % 64)) & 1;
    CHECK(a[i] == bit);
    CHECK(na[i] == 1 - bit);
  }
  CHECK_THROWS_AS(run_recorded([&](Party& p) -> std::vector<Shares> {
                    return {b2a(p, BitShares{std::vector<u64>(2, 0), 200})};
                  }),
                  Error);
}

TEST_CASE("less_than at the boundary: equal, adjacent and extreme values") {
  std::vector<u64> x = boundary_and_random(200), y = boundary_and_random(200);
  const std::vector<u64> base = x;
  for (u64 v : base) {  // each value against itself and its neighbours
    for (u64 d : {u64{0}, u64{1}, ~u64{0}}) {
      const u64 w = v + d;
      if (as_signed(w) >= -static_cast<std::int64_t>(kTop) &&
          as_signed(w) <= static_cast<std::int64_t>(kTop)) {
        x.push_back(v);
        y.push_back(w);
      }
    }
  }
  x.push_back(kTop);
  y.push_back(~kTop + 1);
  x.push_back(~kTop + 1);
  y.push_back(kTop);
  const Split sx = split(x), sy = split(y);
  const TwoPartyRun run = run_recorded(
      [&](Party& p) -> std::vector<Shares> { return {less_than(p, mine(p, sx), mine(p, sy))}; });
  const std::vector<u64> lt = run.opened(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK_MESSAGE(lt[i] == (as_signed(x[i]) < as_signed(y[i]) ? 1u : 0u), as_signed(x[i]), " < ",
                  as_signed(y[i]));
  }
}

TEST_CASE("ReLU: max(x, 0) in 8 rounds, one triple and one daBit per value") {
  std::vector<u64> x = boundary_and_random(500);
  x.push_back(u64{1} << 63);  // the most negative 64-bit value: still its sign
  const Split sx = split(x);
  const TwoPartyRun run =
      run_recorded([&](Party& p) -> std::vector<Shares> { return {relu(p, mine(p, sx))}; });
  const std::vector<u64> z = run.opened(0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(z[i] == (as_signed(x[i]) > 0 ? x[i] : 0));
  }
  CHECK(run.mo.rounds == 8);
  CHECK(run.mo.material_left == 0);
}

TEST_CASE("max and argmax over rows: tournament, first index on ties") {
  const std::uint32_t m = 6, n = 7;
  std::vector<u64> x = random_signed(m * n, 62);
  // Row 1: all equal; row 2: the maximum twice; row 3: extremes; row 4: all negative.
  for (std::uint32_t j = 0; j < n; ++j) x[1 * n + j] = 42;
  x[2 * n + 2] = x[2 * n + 5] = kTop;
  for (std::uint32_t j = 0; j < n; ++j) x[3 * n + j] = (j % 2) ? kTop : ~kTop + 1;
  for (std::uint32_t j = 0; j < n; ++j) x[4 * n + j] = ~u64{0} - j;
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    RowArgmax am = argmax_rows(p, mine(p, sx), m, n);
    return {am.values, am.indices, max_rows(p, mine(p, sx), m, n)};
  });
  const std::vector<u64> vals = run.opened(0), idx = run.opened(1), maxes = run.opened(2);
  check_row_argmax(x, m, n, vals, idx, maxes);
  // ceil(log2 7) = 3 levels of 8 rounds, twice.
  CHECK(run.mo.rounds == 48);
}

TEST_CASE("max over one column is the column; zero columns are refused") {
  const std::vector<u64> x = random_signed(4, 62);
  const Split sx = split(x);
  const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
    RowArgmax am = argmax_rows(p, mine(p, sx), 4, 1);
    return {am.values, am.indices, relu(p, mine(p, sx))};
  });
  CHECK(run.opened(0) == x);
  CHECK(run.opened(1) == std::vector<u64>(4, 0));
  CHECK_THROWS_AS(
      run_recorded([&](Party& p) -> std::vector<Shares> { return {max_rows(p, Shares{}, 3, 0)}; }),
      Error);
}

namespace {

// Values at the edges of the width-b range [-2^(b-1), 2^(b-1)), then random ones inside it.
std::vector<u64> width_edges_and_random(unsigned b, std::size_t random_count) {
  const u64 half = u64{1} << (b - 1);
  std::vector<u64> x{0, 1, ~u64{0}, half - 1, half - 2, ~half + 1, ~half + 2};
  for (u64 r : random_words(random_count)) x.push_back((r & (2 * half - 1)) - half);
  return x;
}

}  // namespace

TEST_CASE("msb, relu and less_than of bounded width: exact at the edges, fewer rounds and gates") {
  CHECK(msb_rounds(64) == 7);
  CHECK(msb_and_gates(64) == 181);
  CHECK(msb_rounds(30) == 6);
  CHECK(msb_and_gates(30) == 80);
  CHECK(msb_rounds(2) == 1);
  CHECK(msb_and_gates(2) == 1);
  for (unsigned b : {2u, 3u, 17u, 30u, 33u, 34u, 43u, 63u}) {
    const std::vector<u64> x = width_edges_and_random(b, 300);
    // y = x + d within the range too: the pairs of less_than differ by x - y = -d.
    std::vector<u64> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = (i % 2) ? x[i] : 0;
    const Split sx = split(x), sy = split(y);
    const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
      return {msb(p, mine(p, sx), b), relu(p, mine(p, sx), b),
              less_than(p, mine(p, sx), mine(p, sy), b)};
    });
    const std::vector<u64> s = run.opened(0), r = run.opened(1), lt = run.opened(2);
    for (std::size_t i = 0; i < x.size(); ++i) {
      CHECK_MESSAGE(s[i] == (as_signed(x[i]) < 0 ? 1u : 0u), "b ", b, " x ", as_signed(x[i]));
      CHECK(r[i] == (as_signed(x[i]) > 0 ? x[i] : 0));
      CHECK(lt[i] == (as_signed(x[i]) < as_signed(y[i]) ? 1u : 0u));
    }
    CHECK(run.mo.rounds == 3 * (msb_rounds(b) + 1));
    CHECK(run.mo.material_left == 0);
  }
  CHECK_THROWS_AS(
      run_recorded([&](Party& p) -> std::vector<Shares> { return {msb(p, Shares(3, 0), 1)}; }),
      Error);
}

TEST_CASE("argmax over rows of bounded width: entries at +-(2^(b-2) - 1), first index on ties") {
  for (unsigned b : {12u, 43u}) {
    const u64 top = (u64{1} << (b - 2)) - 1;
    const std::uint32_t m = 5, n = 9;
    std::vector<u64> x(m * n);
    for (u64& v : x) v = (random_words(1)[0] % (2 * top + 1)) - top;
    for (std::uint32_t j = 0; j < n; ++j) x[0 * n + j] = (j % 2) ? top : ~top + 1;
    for (std::uint32_t j = 0; j < n; ++j) x[1 * n + j] = ~top + 1 + j;
    x[2 * n + 8] = top;
    for (std::uint32_t j = 0; j < n; ++j) x[3 * n + j] = ~top + 1;
    const Split sx = split(x);
    const TwoPartyRun run = run_recorded([&](Party& p) -> std::vector<Shares> {
      RowArgmax am = argmax_rows(p, mine(p, sx), m, n, b);
      return {am.values, am.indices, max_rows(p, mine(p, sx), m, n, b)};
    });
    const std::vector<u64> vals = run.opened(0), idx = run.opened(1), maxes = run.opened(2);
    check_row_argmax(x, m, n, vals, idx, maxes);
    // ceil(log2 9) = 4 levels, twice.
    CHECK(run.mo.rounds == 8 * (msb_rounds(b) + 1));
  }
}
