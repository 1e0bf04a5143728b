#include "approx/fixed_functions.hpp"

#include <algorithm>
#include <utility>

#include "approx/programs.hpp"
#include "core/error.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::approx {

namespace {

// The engine of programs.hpp on plaintext values: exact products, floor truncation.
struct PlainEngine {
  struct Signs {
    program::Vec bits, product;
  };

  program::Vec mul(std::span<const u64> a, std::span<const u64> b) const {
    program::Vec z(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) z[i] = a[i] * b[i];
    return z;
  }
  program::Vec trunc(std::span<const u64> a, int s) const {
    program::Vec z(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) z[i] = truncate_plain(a[i], s);
    return z;
  }
  program::Vec add_const(std::span<const u64> a, u64 c) const {
    program::Vec z(a.begin(), a.end());
    for (u64& v : z) v += c;
    return z;
  }
  // The sign is bit `bits` - 1, as mpc::msb_bits of that width takes it.
  Signs nonneg(std::span<const u64> d, std::span<const u64> y, unsigned bits) const {
    Signs s{program::Vec(d.size()), program::Vec(d.size())};
    for (std::size_t i = 0; i < d.size(); ++i) {
      const bool b = ((d[i] >> (bits - 1)) & 1) == 0;
      s.bits[i] = b ? 1 : 0;
      s.product[i] = b ? y[i] : 0;
    }
    return s;
  }
  // mpc::max_rows' tournament: adjacent pairs, the higher one wins where bit `bits` - 1 of
  // lo - hi is set.
  program::Vec max_rows(std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                        unsigned bits) const {
    program::Vec z(m);
    for (std::size_t r = 0; r < m; ++r) {
      program::Vec row(x.begin() + static_cast<std::ptrdiff_t>(r * n),
                       x.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
      while (row.size() > 1) {
        program::Vec next;
        for (std::size_t t = 0; t + 1 < row.size(); t += 2) {
          next.push_back(((row[t] - row[t + 1]) >> (bits - 1)) & 1 ? row[t + 1] : row[t]);
        }
        if (row.size() % 2) next.push_back(row.back());
        row = std::move(next);
      }
      z[r] = row.front();
    }
    return z;
  }
};

}  // namespace

void check_frac_bits(int f) {
  if (f < kMinFracBits || f > kMaxFracBits) {
    throw Error(Errc::invalid_argument, "the non-linear functions need 8 <= frac_bits <= 20");
  }
}

double layer_norm_var_hi_at(int f, std::uint32_t d) {
  return program::layer_norm_var_hi(f, d);
}

std::vector<u64> exp_neg(std::span<const u64> x, int f) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::exp_neg(eng, x, f, f);
}

std::vector<u64> reciprocal(std::span<const u64> x, int f, double lo, double hi) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::reciprocal(eng, x, f, lo, hi, f);
}

std::vector<u64> rsqrt(std::span<const u64> x, int f, double lo, double hi) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::rsqrt(eng, x, f, lo, hi, 1.0, f, f);
}

std::vector<u64> gelu(std::span<const u64> x, int f) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::gelu(eng, x, f);
}

std::vector<u64> softmax_rows(std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                              std::span<const std::uint32_t> valid, int f) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::softmax_rows(eng, x, m, n, valid, f);
}

std::vector<u64> layer_norm(std::span<const u64> x, std::uint32_t rows, std::uint32_t d, double eps,
                            int f) {
  check_frac_bits(f);
  PlainEngine eng;
  return program::layer_norm(eng, x, rows, d, eps, f);
}

}  // namespace ppi::approx
