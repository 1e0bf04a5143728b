#include "mpc/linear.hpp"

namespace ppi::mpc {

PrivateWeights share_private_weights(Party& p, std::span<const u64> w, std::uint32_t k,
                                     std::uint32_t n) {
  const std::size_t kn = std::size_t{k} * n;
  check_same_size(w.size(), p.is_model_owner() ? kn : 0,
                  "share_private_weights: W against k * n (MO) or empty (client)");
  PrivateWeights pw;
  pw.mask_ = p.material().weight_mask(k, n);
  if (p.is_model_owner()) {
    pw.w_.assign(w.begin(), w.end());
    pw.f_.resize(kn);
    for (std::size_t i = 0; i < kn; ++i) pw.f_[i] = w[i] - pw.mask_.b[i];
    p.channel().send(pw.f_);
    // B is not needed past F (linear() pairs by id): wiped now, not when the session ends.
    { const SecretWords wiped = std::move(pw.mask_.b); }
  } else {
    const std::vector<u64> f = p.channel().receive(kn);
    pw.f_.assign(f.begin(), f.end());
  }
  return pw;
}

Shares linear(Party& p, const PrivateWeights& weights, std::span<const u64> x, std::uint32_t m) {
  const std::uint32_t k = weights.k(), n = weights.n();
  const std::size_t mk = std::size_t{m} * k, mn = std::size_t{m} * n;
  check_same_size(x.size(), mk, "linear: X against m * k");
  MaskedTriple t = p.material().masked_triple(m, weights.mask());
  Shares masked(mk);
  for (std::size_t i = 0; i < mk; ++i) masked[i] = x[i] - t.a[i];

  Shares z(mn);
  p.kernels().gemm(t.a, weights.f_, z, m, k, n);
  for (std::size_t i = 0; i < mn; ++i) z[i] += t.c[i];
  if (!p.is_model_owner()) {
    p.channel().send(masked);
    return z;
  }
  const std::vector<u64> peer = p.channel().receive(mk);
  for (std::size_t i = 0; i < mk; ++i) masked[i] += peer[i];
  Shares ew(mn);
  p.kernels().gemm(masked, weights.w_, ew, m, k, n);
  for (std::size_t i = 0; i < mn; ++i) z[i] += ew[i];
  return z;
}

}  // namespace ppi::mpc
