#include "mpc/nonlinear.hpp"

#include "approx/fixed_functions.hpp"
#include "approx/programs.hpp"
#include "core/error.hpp"
#include "mpc/beaver.hpp"
#include "mpc/boolean.hpp"
#include "mpc/compare.hpp"
#include "mpc/truncate.hpp"

namespace ppi::mpc {

namespace {

constexpr int kNeededMagnitudeBits = 61;

// The engine of approx/programs.hpp on shares.
class PrivateEngine {
 public:
  struct Signs {
    Shares bits, product;
  };

  explicit PrivateEngine(Party& p) : p_(p) {
    approx::check_frac_bits(p.frac_bits());
    if (p.magnitude_bits() < kNeededMagnitudeBits) {
      throw Error(Errc::invalid_argument, "the non-linear operations need magnitude_bits >= 61");
    }
  }

  Shares mul(std::span<const u64> a, std::span<const u64> b) { return mpc::mul(p_, a, b); }
  Shares trunc(std::span<const u64> a, int s) { return truncate(p_, a, s, p_.magnitude_bits()); }
  Shares add_const(std::span<const u64> a, u64 c) { return add_public(p_, a, c); }
  Shares max_rows(std::span<const u64> x, std::uint32_t m, std::uint32_t n, unsigned bits) {
    return mpc::max_rows(p_, x, m, n, bits);
  }

  // b = NOT msb(d) and b y in msb_rounds(bits) rounds and one more. With the daBit (r, [r])
  // of each bit, c = b XOR r is opened; then [b] = c + (1 - 2c) [r] needs no product, and
  // b y = c y + (1 - 2c) r y, where the Beaver product r y is opened in the comparison's first
  // round (mpc/compare.hpp does the same for relu, without handing out the bit).
  Signs nonneg(std::span<const u64> d, std::span<const u64> y, unsigned bits) {
    const std::size_t n = d.size();
    check_same_size(y.size(), n, "nonneg: y against d");
    if (n == 0) return {};
    Dabits r = p_.material().dabits(n);
    Triples t = p_.material().triples(n);
    Piggyback ry;
    ry.mine.resize(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      ry.mine[i] = r.arith[i] - t.a[i];
      ry.mine[n + i] = y[i] - t.b[i];
    }
    const BitShares b = flip(p_, msb_bits(p_, d, bits, &ry));
    std::vector<u64> masked(b.words.size());
    for (std::size_t w = 0; w < masked.size(); ++w) masked[w] = b.words[w] ^ r.bits[w];
    const std::vector<u64> theirs = p_.channel().exchange(masked);
    const u64 one = p_.is_model_owner() ? 1 : 0;
    Signs s{Shares(n), Shares(n)};
    for (std::size_t i = 0; i < n; ++i) {
      const u64 e = ry.mine[i] + ry.peer[i], g = ry.mine[n + i] + ry.peer[n + i];
      const u64 prod = t.c[i] + e * t.b[i] + g * t.a[i] + one * e * g;
      const bool c = ((masked[i / 64] ^ theirs[i / 64]) >> (i % 64)) & 1;
      s.bits[i] = c ? one - r.arith[i] : r.arith[i];
      s.product[i] = c ? y[i] - prod : prod;
    }
    return s;
  }

 private:
  Party& p_;
};

}  // namespace

Shares exp_neg(Party& p, std::span<const u64> x) {
  PrivateEngine eng(p);
  return approx::program::exp_neg(eng, x, p.frac_bits(), p.frac_bits());
}

Shares reciprocal(Party& p, std::span<const u64> x, double lo, double hi) {
  PrivateEngine eng(p);
  return approx::program::reciprocal(eng, x, p.frac_bits(), lo, hi, p.frac_bits());
}

Shares rsqrt(Party& p, std::span<const u64> x, double lo, double hi) {
  PrivateEngine eng(p);
  return approx::program::rsqrt(eng, x, p.frac_bits(), lo, hi, 1.0, p.frac_bits(), p.frac_bits());
}

Shares gelu(Party& p, std::span<const u64> x) {
  PrivateEngine eng(p);
  return approx::program::gelu(eng, x, p.frac_bits());
}

Shares softmax_rows(Party& p, std::span<const u64> x, std::uint32_t m, std::uint32_t n,
                    std::span<const std::uint32_t> valid) {
  PrivateEngine eng(p);
  return approx::program::softmax_rows(eng, x, m, n, valid, p.frac_bits());
}

Shares layer_norm(Party& p, std::span<const u64> x, std::uint32_t rows, std::uint32_t d,
                  double eps) {
  PrivateEngine eng(p);
  return approx::program::layer_norm(eng, x, rows, d, eps, p.frac_bits());
}

}  // namespace ppi::mpc
