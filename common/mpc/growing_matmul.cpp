#include "mpc/growing_matmul.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace ppi::mpc {

GrowingMatmul::GrowingMatmul(Party& p, std::uint32_t count, std::uint32_t steps, std::uint32_t k,
                             std::uint32_t n)
    : count_(count), steps_(steps), k_(k), n_(n) {
  if (count == 0 || steps == 0 || k == 0 || n == 0) {
    throw Error(Errc::invalid_argument, "GrowingMatmul: every dimension must be positive");
  }
  triples_.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i)
    triples_.push_back(p.material().matrix_triple(steps, k, n));
  const std::size_t kn = std::size_t{k} * n;
  opened_.assign(count * kn, 0);
  is_set_.assign(kn, 0);
  pending_masked_.resize(count);
}

void GrowingMatmul::set(std::span<const std::uint32_t> at, std::span<const u64> values) {
  check_same_size(values.size(), std::size_t{count_} * at.size(),
                  "GrowingMatmul::set: values against count * entries");
  const std::size_t kn = std::size_t{k_} * n_;
  // Checked before anything changes, so a refused set leaves the product as it was.
  std::vector<std::uint32_t> sorted(at.begin(), at.end());
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t j = 0; j < sorted.size(); ++j) {
    if (sorted[j] >= kn)
      throw Error(Errc::invalid_argument, "GrowingMatmul::set: entry out of range");
    if (is_set_[sorted[j]] != 0 || (j > 0 && sorted[j] == sorted[j - 1])) {
      throw Error(Errc::conflict, "GrowingMatmul::set: entry set twice");
    }
  }
  for (std::uint32_t e : at) is_set_[e] = 1;
  pending_.insert(pending_.end(), at.begin(), at.end());
  for (std::uint32_t i = 0; i < count_; ++i) {
    for (std::size_t j = 0; j < at.size(); ++j) {
      pending_masked_[i].push_back(values[i * at.size() + j] - triples_[i].b[at[j]]);
    }
  }
}

Shares GrowingMatmul::multiply(Party& p, std::span<const u64> x) {
  if (step_ >= steps_) {
    throw Error(Errc::conflict,
                "GrowingMatmul: all " + std::to_string(steps_) + " rows of its triples are used");
  }
  check_same_size(x.size(), std::size_t{count_} * k_, "GrowingMatmul: x against count * k");
  const std::size_t np = pending_.size(), per = k_ + np;
  const std::size_t kn = std::size_t{k_} * n_;
  // Message: per product, x_t - A_t then its pending entries of Y - B.
  std::vector<u64> masked(count_ * per);
  for (std::uint32_t i = 0; i < count_; ++i) {
    const u64* a = triples_[i].a.data() + std::size_t{step_} * k_;
    for (std::uint32_t c = 0; c < k_; ++c) masked[i * per + c] = x[i * k_ + c] - a[c];
    std::copy(pending_masked_[i].begin(), pending_masked_[i].end(), masked.begin() + i * per + k_);
    pending_masked_[i].clear();
  }
  const std::vector<u64> peer = p.channel().exchange(masked);
  for (std::size_t j = 0; j < masked.size(); ++j) masked[j] += peer[j];
  for (std::uint32_t i = 0; i < count_; ++i) {
    for (std::size_t j = 0; j < np; ++j) opened_[i * kn + pending_[j]] = masked[i * per + k_ + j];
  }
  pending_.clear();

  // z = D [B] + (D at party 0 + [A_t]) E + [C_t]: two GEMVs, B used in place.
  Shares z(std::size_t{count_} * n_);
  SecretWords left(k_);
  Shares le(n_);
  for (std::uint32_t i = 0; i < count_; ++i) {
    const Triples& t = triples_[i];
    const std::span<const u64> d(masked.data() + i * per, k_);
    const u64* a = t.a.data() + std::size_t{step_} * k_;
    for (std::uint32_t c = 0; c < k_; ++c) left[c] = a[c] + (p.is_model_owner() ? d[c] : 0);
    const std::span<u64> zi(z.data() + i * n_, n_);
    p.kernels().gemm(d, t.b, zi, 1, k_, n_);
    p.kernels().gemm(left, std::span<const u64>(opened_.data() + i * kn, kn), le, 1, k_, n_);
    const u64* c = t.c.data() + std::size_t{step_} * n_;
    for (std::uint32_t j = 0; j < n_; ++j) zi[j] += le[j] + c[j];
  }
  ++step_;
  return z;
}

Shares GrowingMatmul::operand(const Party& p) const {
  const std::size_t kn = std::size_t{k_} * n_;
  Shares y(count_ * kn);
  for (std::uint32_t i = 0; i < count_; ++i) {
    for (std::size_t j = 0; j < kn; ++j) {
      y[i * kn + j] = triples_[i].b[j] + (p.is_model_owner() ? opened_[i * kn + j] : 0);
    }
  }
  return y;
}

}  // namespace ppi::mpc
