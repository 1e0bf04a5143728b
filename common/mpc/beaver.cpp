#include "mpc/beaver.hpp"

#include <algorithm>

namespace ppi::mpc {

Shares mul(Party& p, std::span<const u64> x, std::span<const u64> y) {
  check_same_size(x.size(), y.size(), "mul");
  const std::size_t n = x.size();
  Triples t = p.material().triples(n);
  Shares masked(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    masked[i] = x[i] - t.a[i];
    masked[n + i] = y[i] - t.b[i];
  }
  const std::vector<u64> peer = p.channel().exchange(masked);
  Shares z(n);
  for (std::size_t i = 0; i < n; ++i) {
    const u64 d = masked[i] + peer[i];
    const u64 e = masked[n + i] + peer[n + i];
    z[i] = t.c[i] + d * t.b[i] + e * t.a[i] + (p.is_model_owner() ? d * e : 0);
  }
  return z;
}

Shares matmul(Party& p, std::span<const u64> x, std::span<const u64> y, std::uint32_t m,
              std::uint32_t k, std::uint32_t n) {
  const std::size_t mk = std::size_t{m} * k, kn = std::size_t{k} * n, mn = std::size_t{m} * n;
  check_same_size(x.size(), mk, "matmul: X against m * k");
  check_same_size(y.size(), kn, "matmul: Y against k * n");
  Triples t = p.material().matrix_triple(m, k, n);
  Shares masked(mk + kn);
  for (std::size_t i = 0; i < mk; ++i) masked[i] = x[i] - t.a[i];
  for (std::size_t i = 0; i < kn; ++i) masked[mk + i] = y[i] - t.b[i];
  const std::vector<u64> peer = p.channel().exchange(masked);
  for (std::size_t i = 0; i < mk + kn; ++i) masked[i] += peer[i];
  const std::span<const u64> e(masked.data(), mk), f(masked.data() + mk, kn);

  // Z = E ([B] + F for party 0, [B] for party 1) + [A] F + [C].
  SecretWords right(t.b.begin(), t.b.end());
  if (p.is_model_owner()) {
    for (std::size_t i = 0; i < kn; ++i) right[i] += f[i];
  }
  Shares z(mn), af(mn);
  p.kernels().gemm(e, right, z, m, k, n);
  p.kernels().gemm(t.a, f, af, m, k, n);
  for (std::size_t i = 0; i < mn; ++i) z[i] += af[i] + t.c[i];
  return z;
}

}  // namespace ppi::mpc
