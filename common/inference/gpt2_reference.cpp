#include "inference/gpt2_reference.hpp"

#include <algorithm>
#include <memory>
#include <numeric>

#include "approx/fixed_functions.hpp"
#include "compute/ring_kernels.hpp"
#include "core/error.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::inference {

namespace {

using FixedBlock = model::Gpt2FoldedBlock<u64>;

using Vec = std::vector<u64>;

Vec matmul(std::span<const u64> a, std::span<const u64> b, std::size_t m, std::size_t k,
           std::size_t n) {
  // One kernel object per thread: each keeps its workspaces from call to call.
  thread_local const std::unique_ptr<compute::RingKernels> kernels = compute::make_cpu_kernels();
  Vec c(m * n);
  kernels->gemm(a, b, c, m, k, n);
  return c;
}

void truncate_all(Vec& v, int f) {
  for (u64& x : v) x = truncate_plain(x, f);
}

// trunc(X W) + b, as the program's dense().
Vec dense(std::span<const u64> x, std::span<const u64> w, std::span<const u64> b, std::size_t rows,
          std::size_t k, std::size_t n, int f) {
  Vec y = matmul(x, w, rows, k, n);
  truncate_all(y, f);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < n; ++j) y[r * n + j] += b[j];
  }
  return y;
}

std::span<const u64> words(const model::SecretVector<u64>& v) {
  return {v.data(), v.size()};
}

}  // namespace

std::vector<u64> gpt2_fixed_forward(const model::Gpt2Shape& shape, const model::Gpt2FixedWeights& w,
                                    std::span<const std::uint32_t> tokens,
                                    const Gpt2PassOptions& o) {
  check_pass_options(shape, o);
  const int f = shape.frac_bits;
  const std::size_t d = shape.config.n_embd, heads = shape.config.n_head, dh = d / heads;
  const std::size_t vocab = shape.config.vocab_size, t = o.bucket;
  const double eps = shape.config.layer_norm_epsilon;
  if (tokens.empty() || tokens.size() > t) {
    throw Error(Errc::invalid_argument, "the reference takes 1 to T tokens");
  }
  Vec h(t * d);
  for (std::size_t i = 0; i < t; ++i) {
    const std::size_t id = i < tokens.size() ? tokens[i] : 0;
    if (id >= vocab) throw Error(Errc::invalid_argument, "a token is not below the vocabulary");
    for (std::size_t c = 0; c < d; ++c) h[i * d + c] = w.wte[id * d + c] + w.wpe[i * d + c];
  }
  std::vector<std::uint32_t> valid(heads * t);
  for (std::size_t r = 0; r < valid.size(); ++r) valid[r] = static_cast<std::uint32_t>(r % t) + 1;

  for (const FixedBlock& l : w.layers) {
    Vec n =
        approx::layer_norm(h, static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(d), eps, f);
    const Vec qkv = dense(n, words(l.attn_w), words(l.attn_b), t, d, 3 * d, f);
    Vec merged(t * d);
    const std::size_t block = t * dh;
    Vec scores(heads * t * t);
    std::vector<Vec> vs(heads, Vec(block));
    for (std::size_t hd = 0; hd < heads; ++hd) {
      Vec q(block), kt(block);
      for (std::size_t i = 0; i < t; ++i) {
        for (std::size_t c = 0; c < dh; ++c) {
          q[i * dh + c] = qkv[i * 3 * d + hd * dh + c];
          kt[c * t + i] = qkv[i * 3 * d + d + hd * dh + c];
          vs[hd][i * dh + c] = qkv[i * 3 * d + 2 * d + hd * dh + c];
        }
      }
      const Vec s = matmul(q, kt, t, dh, t);
      std::copy(s.begin(), s.end(), scores.begin() + static_cast<std::ptrdiff_t>(hd * t * t));
    }
    truncate_all(scores, f);
    const Vec probs = approx::softmax_rows(scores, static_cast<std::uint32_t>(heads * t),
                                           static_cast<std::uint32_t>(t), valid, f);
    for (std::size_t hd = 0; hd < heads; ++hd) {
      Vec oh = matmul(std::span<const u64>(probs).subspan(hd * t * t, t * t), vs[hd], t, t, dh);
      truncate_all(oh, f);
      for (std::size_t i = 0; i < t; ++i) {
        for (std::size_t c = 0; c < dh; ++c) merged[i * d + hd * dh + c] = oh[i * dh + c];
      }
    }
    const Vec a = dense(merged, words(l.proj_w), words(l.proj_b), t, d, d, f);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] += a[i];
    n = approx::layer_norm(h, static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(d), eps, f);
    const Vec u = approx::gelu(dense(n, words(l.fc_w), words(l.fc_b), t, d, 4 * d, f), f);
    const Vec m = dense(u, words(l.out_w), words(l.out_b), t, 4 * d, d, f);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] += m[i];
  }
  Vec nf =
      approx::layer_norm(h, static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(d), eps, f);
  std::size_t rows = t;
  if (o.output == Gpt2PassOptions::Output::last) {
    const std::size_t last = tokens.size() - 1;
    nf = Vec(nf.begin() + static_cast<std::ptrdiff_t>(last * d),
             nf.begin() + static_cast<std::ptrdiff_t>((last + 1) * d));
    rows = 1;
  }
  return dense(nf, words(w.head_w), words(w.head_b), rows, d, vocab, f);
}

std::vector<std::uint32_t> top_k_rows(std::span<const u64> logits, std::uint32_t rows,
                                      std::uint32_t cols, std::uint32_t k) {
  if (logits.size() != std::size_t{rows} * cols || k == 0 || k > cols) {
    throw Error(Errc::invalid_argument, "top_k_rows: sizes do not match");
  }
  std::vector<std::uint32_t> out;
  std::vector<std::uint32_t> idx(cols);
  for (std::uint32_t r = 0; r < rows; ++r) {
    const u64* row = logits.data() + std::size_t{r} * cols;
    std::iota(idx.begin(), idx.end(), 0u);
    std::partial_sort(
        idx.begin(), idx.begin() + k, idx.end(), [&](std::uint32_t a, std::uint32_t b) {
          const auto va = static_cast<std::int64_t>(row[a]), vb = static_cast<std::int64_t>(row[b]);
          return va != vb ? va > vb : a < b;
        });
    out.insert(out.end(), idx.begin(), idx.begin() + k);
  }
  return out;
}

}  // namespace ppi::inference
