#include "mpc/beaver.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"

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
  return matmul_batched(p, x, y, 1, m, k, n);
}

Shares matmul_batched(Party& p, std::span<const u64> x, std::span<const u64> y, std::uint32_t count,
                      std::uint32_t m, std::uint32_t k, std::uint32_t n) {
  const std::size_t mk = std::size_t{m} * k, kn = std::size_t{k} * n, mn = std::size_t{m} * n;
  if (count == 0) throw Error(Errc::invalid_argument, "matmul_batched: no product");
  check_same_size(x.size(), count * mk, "matmul: X against count * m * k");
  check_same_size(y.size(), count * kn, "matmul: Y against count * k * n");
  std::vector<Triples> t;
  t.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) t.push_back(p.material().matrix_triple(m, k, n));
  // Message layout: E_0, F_0, E_1, F_1, ...
  const std::size_t per = mk + kn;
  Shares masked(count * per);
  for (std::uint32_t i = 0; i < count; ++i) {
    u64* e = masked.data() + i * per;
    const u64* xi = x.data() + i * mk;
    const u64* yi = y.data() + i * kn;
    for (std::size_t j = 0; j < mk; ++j) e[j] = xi[j] - t[i].a[j];
    for (std::size_t j = 0; j < kn; ++j) e[mk + j] = yi[j] - t[i].b[j];
  }
  const std::vector<u64> peer = p.channel().exchange(masked);
  for (std::size_t j = 0; j < masked.size(); ++j) masked[j] += peer[j];

  // Z = E ([B] + F for party 0, [B] for party 1) + [A] F + [C].
  Shares z(count * mn);
  Shares af(mn);
  SecretWords right(kn);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::span<const u64> e(masked.data() + i * per, mk), f(masked.data() + i * per + mk, kn);
    std::copy(t[i].b.begin(), t[i].b.end(), right.begin());
    if (p.is_model_owner()) {
      for (std::size_t j = 0; j < kn; ++j) right[j] += f[j];
    }
    const std::span<u64> zi(z.data() + i * mn, mn);
    p.kernels().gemm(e, right, zi, m, k, n);
    p.kernels().gemm(t[i].a, f, af, m, k, n);
    for (std::size_t j = 0; j < mn; ++j) zi[j] += af[j] + t[i].c[j];
  }
  return z;
}

}  // namespace ppi::mpc
