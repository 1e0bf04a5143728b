#include "approx/fixed_functions.hpp"

#include <algorithm>

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
  Signs nonneg(std::span<const u64> d, std::span<const u64> y) const {
    Signs s{program::Vec(d.size()), program::Vec(d.size())};
    for (std::size_t i = 0; i < d.size(); ++i) {
      const bool b = static_cast<std::int64_t>(d[i]) >= 0;
      s.bits[i] = b ? 1 : 0;
      s.product[i] = b ? y[i] : 0;
    }
    return s;
  }
  program::Vec max_rows(std::span<const u64> x, std::uint32_t m, std::uint32_t n) const {
    program::Vec z(m);
    for (std::size_t r = 0; r < m; ++r) {
      const auto row = x.subspan(r * n, n);
      z[r] = *std::max_element(row.begin(), row.end(), [](u64 a, u64 b) {
        return static_cast<std::int64_t>(a) < static_cast<std::int64_t>(b);
      });
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
  return program::gelu(eng, x, f, f);
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
