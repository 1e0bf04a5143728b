#include "mpc/compare.hpp"

#include <vector>

#include "core/error.hpp"

namespace ppi::mpc {

namespace {

// For each k: [s * ys[k]] where s = msb(x) (or NOT msb(x) when `negate`), all of length n.
std::vector<Shares> msb_times(Party& p, std::span<const u64> x,
                              const std::vector<std::span<const u64>>& ys, bool negate,
                              unsigned bits) {
  const std::size_t n = x.size();
  for (const auto& y : ys) check_same_size(y.size(), n, "msb_times");
  const std::size_t terms = ys.size() * n;
  Dabits d = p.material().dabits(n);
  Triples t = p.material().triples(terms);

  // Beaver openings of r * y, sent with the comparison's first round.
  Piggyback beaver;
  beaver.mine.resize(2 * terms);
  for (std::size_t k = 0; k < ys.size(); ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = k * n + i;
      beaver.mine[j] = d.arith[i] - t.a[j];
      beaver.mine[terms + j] = ys[k][i] - t.b[j];
    }
  }
  BitShares s = msb_bits(p, x, bits, &beaver);
  if (negate) s = flip(p, std::move(s));

  std::vector<u64> c(s.words.size());
  for (std::size_t w = 0; w < c.size(); ++w) c[w] = s.words[w] ^ d.bits[w];
  const std::vector<u64> peer = p.channel().exchange(c);

  std::vector<Shares> out(ys.size(), Shares(n));
  for (std::size_t k = 0; k < ys.size(); ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = k * n + i;
      const u64 e = beaver.mine[j] + beaver.peer[j];
      const u64 f = beaver.mine[terms + j] + beaver.peer[terms + j];
      const u64 ry = t.c[j] + e * t.b[j] + f * t.a[j] + (p.is_model_owner() ? e * f : 0);
      const bool ci = ((c[i / 64] ^ peer[i / 64]) >> (i % 64)) & 1;
      // s = c XOR r, so s y = c y + (1 - 2c) r y: r y when c = 0, y - r y when c = 1.
      out[k][i] = ci ? ys[k][i] - ry : ry;
    }
  }
  return out;
}

RowArgmax tournament(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                     bool want_index, unsigned bits) {
  if (n == 0) throw Error(Errc::invalid_argument, "max over rows of zero columns");
  check_msb_width(bits);
  check_same_size(x.size(), std::size_t{m} * n, "max_rows: x against m * n");
  Shares vals(x.begin(), x.end());
  Shares idx;
  if (want_index) {
    idx.resize(vals.size());
    for (std::size_t r = 0; r < m; ++r) {
      for (std::uint32_t j = 0; j < n; ++j) idx[r * n + j] = p.is_model_owner() ? j : 0;
    }
  }
  for (std::size_t width = n; width > 1;) {
    const std::size_t pairs = width / 2, next_width = (width + 1) / 2;
    // d = lo - hi; hi wins iff lo < hi iff msb(d): new = lo - msb(d) d, the first max on ties.
    Shares d(m * pairs), di;
    if (want_index) di.resize(m * pairs);
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t t = 0; t < pairs; ++t) {
        const std::size_t lo = r * width + 2 * t;
        d[r * pairs + t] = vals[lo] - vals[lo + 1];
        if (want_index) di[r * pairs + t] = idx[lo + 1] - idx[lo];
      }
    }
    std::vector<std::span<const u64>> ys{d};
    if (want_index) ys.emplace_back(di);
    const std::vector<Shares> prod = msb_times(p, d, ys, false, bits);

    Shares nv(m * next_width), ni(want_index ? m * next_width : 0);
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t t = 0; t < pairs; ++t) {
        const std::size_t lo = r * width + 2 * t, at = r * next_width + t;
        nv[at] = vals[lo] - prod[0][r * pairs + t];
        if (want_index) ni[at] = idx[lo] + prod[1][r * pairs + t];
      }
      if (width % 2) {
        nv[r * next_width + pairs] = vals[r * width + width - 1];
        if (want_index) ni[r * next_width + pairs] = idx[r * width + width - 1];
      }
    }
    vals = std::move(nv);
    idx = std::move(ni);
    width = next_width;
  }
  return {std::move(vals), std::move(idx)};
}

}  // namespace

Shares msb(Party& p, std::span<const u64> x, unsigned bits) {
  check_msb_width(bits);
  if (x.empty()) return {};
  return b2a(p, msb_bits(p, x, bits));
}

Shares less_than(Party& p, std::span<const u64> x, std::span<const u64> y, unsigned bits) {
  return msb(p, sub(x, y), bits);
}

Shares relu(Party& p, std::span<const u64> x, unsigned bits) {
  check_msb_width(bits);
  if (x.empty()) return {};
  return std::move(msb_times(p, x, {x}, true, bits).front());
}

Shares max_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n, unsigned bits) {
  return tournament(p, x, m, n, false, bits).values;
}

RowArgmax argmax_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                      unsigned bits) {
  return tournament(p, x, m, n, true, bits);
}

}  // namespace ppi::mpc
