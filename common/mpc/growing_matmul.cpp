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
  // Kept product-major like the message: [product 0's entries..., product 1's ...].
  const std::size_t before = pending_.size();
  pending_.insert(pending_.end(), at.begin(), at.end());
  std::vector<u64> masked(std::size_t{count_} * pending_.size());
  for (std::uint32_t i = 0; i < count_; ++i) {
    std::copy_n(pending_masked_.begin() + i * before, before, masked.begin() + i * pending_.size());
    for (std::size_t j = 0; j < at.size(); ++j) {
      masked[i * pending_.size() + before + j] = values[i * at.size() + j] - triples_[i].b[at[j]];
    }
  }
  pending_masked_ = std::move(masked);
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
    std::copy_n(pending_masked_.begin() + i * np, np, masked.begin() + i * per + k_);
  }
  const std::vector<u64> peer = p.channel().exchange(masked);
  for (std::size_t j = 0; j < masked.size(); ++j) masked[j] += peer[j];
  for (std::uint32_t i = 0; i < count_; ++i) {
    for (std::size_t j = 0; j < np; ++j) opened_[i * kn + pending_[j]] = masked[i * per + k_ + j];
  }
  pending_.clear();
  pending_masked_.clear();

  // z = D ([B] + E at party 0, [B] at party 1) + [A_t] E + [C_t].
  Shares z(std::size_t{count_} * n_);
  SecretWords right(kn);
  Shares ae(n_);
  for (std::uint32_t i = 0; i < count_; ++i) {
    const Triples& t = triples_[i];
    const std::span<const u64> e(opened_.data() + i * kn, kn);
    std::copy(t.b.begin(), t.b.end(), right.begin());
    if (p.is_model_owner()) {
      for (std::size_t j = 0; j < kn; ++j) right[j] += e[j];
    }
    const std::span<u64> zi(z.data() + i * n_, n_);
    p.kernels().gemm(std::span<const u64>(masked.data() + i * per, k_), right, zi, 1, k_, n_);
    p.kernels().gemm(std::span<const u64>(t.a.data() + std::size_t{step_} * k_, k_), e, ae, 1, k_,
                     n_);
    const u64* c = t.c.data() + std::size_t{step_} * n_;
    for (std::uint32_t j = 0; j < n_; ++j) zi[j] += ae[j] + c[j];
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
