#include "mpc/linear.hpp"

namespace ppi::mpc {

// linear() pairs by id, so B is not needed past F: wiped now, not when the session ends.
PrivateWeights PrivateWeights::model_owners(std::span<const u64> w, WeightMask mask) {
  const std::size_t kn = std::size_t{mask.k} * mask.n;
  PrivateWeights pw;
  check_same_size(mask.b.size(), kn, "the model owner's weight mask against k * n");
  pw.w_.assign(w.begin(), w.end());
  pw.f_.resize(kn);
  for (std::size_t i = 0; i < kn; ++i) pw.f_[i] = w[i] - mask.b[i];
  { const SecretWords wiped = std::move(mask.b); }
  pw.mask_ = std::move(mask);
  return pw;
}

namespace {

void check_weights(const Party& p, std::span<const u64> w, const WeightMask& mask,
                   const char* what) {
  check_same_size(w.size(), p.is_model_owner() ? std::size_t{mask.k} * mask.n : 0, what);
}

}  // namespace

PrivateWeights share_private_weights(Party& p, std::span<const u64> w, std::uint32_t k,
                                     std::uint32_t n) {
  check_same_size(w.size(), p.is_model_owner() ? std::size_t{k} * n : 0,
                  "share_private_weights: W against k * n (MO) or empty (client)");
  return share_private_weights(p, w, p.material().weight_mask(k, n));
}

PrivateWeights share_private_weights(Party& p, std::span<const u64> w, WeightMask mask) {
  check_weights(p, w, mask, "share_private_weights: W against k * n (MO) or empty (client)");
  PrivateWeights pw;
  if (p.is_model_owner()) {
    pw = PrivateWeights::model_owners(w, std::move(mask));
    p.channel().send(pw.f_);
  } else {
    const std::vector<u64> f = p.channel().receive(std::size_t{mask.k} * mask.n);
    pw.f_.assign(f.begin(), f.end());
    pw.mask_ = std::move(mask);
  }
  return pw;
}

PrivateWeights held_private_weights(Party& p, std::span<const u64> w, WeightMask mask,
                                    SecretWords held_f) {
  check_weights(p, w, mask, "held_private_weights: W against k * n (MO) or empty (client)");
  check_same_size(held_f.size(), p.is_model_owner() ? 0 : std::size_t{mask.k} * mask.n,
                  "held_private_weights: the held F against k * n (client) or empty (MO)");
  if (p.is_model_owner()) return PrivateWeights::model_owners(w, std::move(mask));
  PrivateWeights pw;
  pw.f_ = std::move(held_f);
  pw.mask_ = std::move(mask);
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
