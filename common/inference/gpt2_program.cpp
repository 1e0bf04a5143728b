// The private GPT-2 program: one body for both roles (run_gpt2), entered by the model owner with
// its folded fixed-point weights, by the client with its token ids, and by the plan recorder
// with zeros.

#include "inference/gpt2_program.hpp"

#include <functional>
#include <string>
#include <utility>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "mpc/arith.hpp"
#include "mpc/beaver.hpp"
#include "mpc/compare.hpp"
#include "mpc/nonlinear.hpp"
#include "mpc/truncate.hpp"

namespace ppi::inference {

namespace {

using FixedBlock = model::Gpt2FoldedBlock<u64>;

// Shares of intermediate values are wiped when replaced: the client's first share is its input
// in the clear.
void replace(mpc::Shares& x, mpc::Shares next) {
  cleanse(x.data(), x.size() * sizeof(u64));
  x = std::move(next);
}

std::span<const u64> words(const model::SecretVector<u64>& v) {
  return {v.data(), v.size()};
}

struct Dims {
  std::uint32_t d, heads, dh, vocab, layers;
};

Dims dims_of(const model::Gpt2Shape& s) {
  const auto d = static_cast<std::uint32_t>(s.config.n_embd);
  const auto heads = static_cast<std::uint32_t>(s.config.n_head);
  return {d, heads, d / heads, static_cast<std::uint32_t>(s.config.vocab_size),
          static_cast<std::uint32_t>(s.config.n_layer)};
}

// Y = trunc(X W) + b for a private matrix; `bias` is the model owner's (empty at the client).
mpc::Shares dense(mpc::Party& p, const mpc::PrivateWeights& w, std::span<const u64> bias,
                  const mpc::Shares& x, std::uint32_t rows) {
  mpc::Shares product = mpc::linear(p, w, x, rows);
  mpc::Shares y = mpc::truncate(p, product);
  cleanse(product.data(), product.size() * sizeof(u64));
  if (p.is_model_owner()) {
    const std::size_t n = w.n();
    if (bias.size() != n) throw Error(Errc::internal, "a bias does not match its matrix");
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < n; ++j) y[r * n + j] += bias[j];
    }
  }
  return y;
}

void add_into(mpc::Shares& h, const mpc::Shares& delta) {
  for (std::size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
}

// Causal self-attention of one block on the normalised input n (T x d): returns O (T x d),
// heads concatenated, before the output projection.
mpc::Shares attention(mpc::Party& p, const Dims& dm, const mpc::Shares& qkv, std::uint32_t t) {
  const std::uint32_t d = dm.d, dh = dm.dh, heads = dm.heads;
  const std::size_t block = std::size_t{t} * dh;
  // Q_h (T x dh), K_h^T (dh x T) and V_h (T x dh) for every head, contiguous per head. The
  // 1/sqrt(dh) scale is inside W_attn's Q columns.
  mpc::Shares q(heads * block), kt(heads * block), v(heads * block);
  for (std::uint32_t h = 0; h < heads; ++h) {
    for (std::uint32_t i = 0; i < t; ++i) {
      const u64* row = qkv.data() + std::size_t{i} * 3 * d;
      for (std::uint32_t c = 0; c < dh; ++c) {
        q[h * block + std::size_t{i} * dh + c] = row[h * dh + c];
        kt[h * block + std::size_t{c} * t + i] = row[d + h * dh + c];
        v[h * block + std::size_t{i} * dh + c] = row[2 * d + h * dh + c];
      }
    }
  }
  mpc::Shares scores = mpc::matmul_batched(p, q, kt, heads, t, dh, t);
  replace(scores, mpc::truncate(p, scores));
  std::vector<std::uint32_t> valid(std::size_t{heads} * t);
  for (std::size_t r = 0; r < valid.size(); ++r) valid[r] = static_cast<std::uint32_t>(r % t) + 1;
  mpc::Shares probs = mpc::softmax_rows(p, scores, heads * t, t, valid);
  replace(scores, {});
  mpc::Shares o = mpc::matmul_batched(p, probs, v, heads, t, t, dh);
  replace(probs, {});
  replace(o, mpc::truncate(p, o));
  mpc::Shares merged(std::size_t{t} * d);
  for (std::uint32_t h = 0; h < heads; ++h) {
    for (std::uint32_t i = 0; i < t; ++i) {
      for (std::uint32_t c = 0; c < dh; ++c) {
        merged[std::size_t{i} * d + h * dh + c] = o[h * block + std::size_t{i} * dh + c];
      }
    }
  }
  replace(o, {});
  for (mpc::Shares* s : {&q, &kt, &v}) replace(*s, {});
  return merged;
}

// A one-hot row per entry of `ids` (width `width`, integer 1s) as the client's private input;
// the model owner's share is 0.
mpc::Shares one_hot_input(const mpc::Party& p, std::span<const std::uint32_t> ids,
                          std::size_t width) {
  mpc::Shares x(ids.size() * width, 0);
  if (!p.is_model_owner()) {
    for (std::size_t r = 0; r < ids.size(); ++r) x[r * width + ids[r]] = 1;
  }
  return x;
}

}  // namespace

Gpt2Session::Gpt2Session(model::Gpt2Shape shape, const model::Gpt2FixedWeights* weights)
    : Gpt2Session(std::move(shape), weights, {}) {}

Gpt2Session::Gpt2Session(model::Gpt2Shape shape, const model::Gpt2FixedWeights* weights,
                         Gpt2MaskSet mask_set)
    : shape_(std::move(shape)), weights_(weights), mask_set_(std::move(mask_set)) {
  shape_.validate();
  matrices_.resize(head_index() + 1);
  if (mask_set_.held_f.empty()) return;
  if (!mask_set_.held || mask_set_.masks == nullptr || weights_ != nullptr ||
      mask_set_.held_f.size() != matrices_.size()) {
    throw Error(Errc::invalid_argument,
                "a held F is the client's, one per matrix, for a session with a mask set");
  }
  for (std::size_t i = 0; i < matrices_.size(); ++i) {
    const auto [k, n] = matrix_dims(i);
    if (mask_set_.held_f[i].size() != std::size_t{k} * n) {
      throw Error(Errc::invalid_argument, "the held F of GPT-2 matrix " + std::to_string(i) +
                                              " is not " + std::to_string(k) + " x " +
                                              std::to_string(n));
    }
  }
}

std::size_t Gpt2Session::matrices_shared() const {
  std::size_t n = 0;
  for (const auto& m : matrices_) n += m.has_value() ? 1 : 0;
  return n;
}

std::pair<std::uint32_t, std::uint32_t> Gpt2Session::matrix_dims(std::size_t index) const {
  if (index >= matrices_.size()) throw Error(Errc::internal, "no such GPT-2 matrix");
  const Dims dm = dims_of(shape_);
  if (index == wte_index()) return {dm.vocab, dm.d};
  if (index == head_index()) return {dm.d, dm.vocab};
  const std::pair<std::uint32_t, std::uint32_t> widths[4] = {
      {dm.d, 3 * dm.d}, {dm.d, dm.d}, {dm.d, 4 * dm.d}, {4 * dm.d, dm.d}};
  return widths[(index - 1) % 4];
}

std::span<const u64> Gpt2Session::complement(std::size_t index) const {
  if (index >= matrices_.size() || !matrices_[index]) {
    throw Error(Errc::internal, "GPT-2 matrix " + std::to_string(index) + " is not shared");
  }
  return matrices_[index]->complement();
}

const mpc::PrivateWeights& Gpt2Session::matrix(mpc::Party& p, std::size_t index) {
  if (index >= matrices_.size()) throw Error(Errc::internal, "no such GPT-2 matrix");
  if ((weights_ != nullptr) != p.is_model_owner()) {
    throw Error(Errc::internal, "the model owner's session holds the weights, the client's not");
  }
  if (!matrices_[index]) {
    const auto [k, n] = matrix_dims(index);
    std::span<const u64> w;
    if (weights_ != nullptr) {
      if (index == wte_index()) {
        w = words(weights_->wte);
      } else if (index == head_index()) {
        w = words(weights_->head_w);
      } else {
        const FixedBlock& l = weights_->layers.at((index - 1) / 4);
        const model::SecretVector<u64>* ws[4] = {&l.attn_w, &l.proj_w, &l.fc_w, &l.out_w};
        w = words(*ws[(index - 1) % 4]);
      }
    }
    if (mask_set_.masks == nullptr) {
      matrices_[index] = mpc::share_private_weights(p, w, k, n);
    } else if (!mask_set_.held) {
      matrices_[index] = mpc::share_private_weights(p, w, mask_set_.masks->weight_mask(k, n));
    } else {
      std::span<const u64> f;
      if (!mask_set_.held_f.empty()) f = mask_set_.held_f[index];
      matrices_[index] = mpc::held_private_weights(p, w, mask_set_.masks->weight_mask(k, n), f);
      // The PrivateWeights hold their own copy now.
      if (!mask_set_.held_f.empty()) {
        const mpc::SecretWords wiped = std::move(mask_set_.held_f[index]);
      }
    }
  }
  return *matrices_[index];
}

void check_pass_options(const model::Gpt2Shape& shape, const Gpt2PassOptions& o) {
  const auto positions = static_cast<std::uint32_t>(shape.config.n_positions);
  if (o.bucket == 0 || o.bucket > positions) {
    throw Error(Errc::invalid_argument, "the length bucket must be 1 to " +
                                            std::to_string(positions) + ", not " +
                                            std::to_string(o.bucket));
  }
  if (o.top_k == 0 || o.top_k > kMaxTopK || o.top_k > shape.config.vocab_size) {
    throw Error(Errc::invalid_argument, "top_k must be 1 to " + std::to_string(kMaxTopK) +
                                            ", not " + std::to_string(o.top_k));
  }
}

void check_pass_tokens(const model::Gpt2Shape& shape, const Gpt2PassOptions& o,
                       std::span<const std::uint32_t> tokens, const std::string& model_id) {
  const std::string who = model_id.empty() ? "a pass" : "model " + model_id;
  const std::string whose = model_id.empty() ? "the" : "model " + model_id + "'s";
  if (tokens.empty() || tokens.size() > o.bucket) {
    throw Error(Errc::invalid_argument, who + " takes 1 to " + std::to_string(o.bucket) +
                                            " tokens, got " + std::to_string(tokens.size()));
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= shape.config.vocab_size) {
      throw Error(Errc::invalid_argument, "token " + std::to_string(i) + " (" +
                                              std::to_string(tokens[i]) + ") is not below " +
                                              whose + " vocabulary size " +
                                              std::to_string(shape.config.vocab_size));
    }
  }
}

Gpt2Result run_gpt2(mpc::Party& p, Gpt2Session& s, std::span<const std::uint32_t> tokens,
                    const Gpt2PassOptions& o) {
  const model::Gpt2Shape& shape = s.shape();
  check_pass_options(shape, o);
  const bool mo = p.is_model_owner();
  const Dims dm = dims_of(shape);
  const std::uint32_t t = o.bucket;
  if (mo && !tokens.empty()) throw Error(Errc::internal, "the model owner has no tokens");
  if (!mo) check_pass_tokens(shape, o, tokens);
  if (p.frac_bits() != shape.frac_bits) {
    throw Error(Errc::internal, "the party's fixed point is not the model's");
  }
  const model::Gpt2FixedWeights* w = s.weights();

  // Embedding: padded rows take token 0; causality keeps them out of the real rows.
  std::vector<std::uint32_t> padded(t, 0);
  if (!mo) std::copy(tokens.begin(), tokens.end(), padded.begin());
  mpc::Shares x = one_hot_input(p, padded, dm.vocab);
  cleanse(padded.data(), padded.size() * sizeof(std::uint32_t));
  mpc::Shares h = mpc::linear(p, s.matrix(p, Gpt2Session::wte_index()), x, t);
  replace(x, {});
  if (mo) {
    for (std::size_t i = 0; i < std::size_t{t} * dm.d; ++i) h[i] += w->wpe[i];
  }

  for (std::uint32_t layer = 0; layer < dm.layers; ++layer) {
    const FixedBlock* lw = mo ? &w->layers[layer] : nullptr;
    auto bias = [&](const model::SecretVector<u64> FixedBlock::*member) {
      return lw != nullptr ? words(lw->*member) : std::span<const u64>{};
    };
    mpc::Shares n = mpc::layer_norm(p, h, t, dm.d, shape.config.layer_norm_epsilon);
    mpc::Shares qkv =
        dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 0)), bias(&FixedBlock::attn_b), n, t);
    mpc::Shares attn = attention(p, dm, qkv, t);
    replace(qkv, {});
    mpc::Shares a = dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 1)),
                          bias(&FixedBlock::proj_b), attn, t);
    add_into(h, a);
    replace(n, mpc::layer_norm(p, h, t, dm.d, shape.config.layer_norm_epsilon));
    mpc::Shares u =
        dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 2)), bias(&FixedBlock::fc_b), n, t);
    replace(u, mpc::gelu(p, u));
    mpc::Shares m =
        dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 3)), bias(&FixedBlock::out_b), u, t);
    add_into(h, m);
    for (mpc::Shares* v : {&n, &attn, &a, &u, &m}) replace(*v, {});
  }

  mpc::Shares nf = mpc::layer_norm(p, h, t, dm.d, shape.config.layer_norm_epsilon);
  replace(h, {});
  std::uint32_t rows = t;
  if (o.output == Gpt2PassOptions::Output::last) {
    // The client's one-hot of its last real position: the model owner does not learn it.
    const std::uint32_t last = mo ? 0 : static_cast<std::uint32_t>(tokens.size() - 1);
    mpc::Shares sel = one_hot_input(p, std::span<const std::uint32_t>(&last, 1), t);
    replace(nf, mpc::matmul(p, sel, nf, 1, t, dm.d));
    rows = 1;
  }
  mpc::Shares logits = dense(p, s.matrix(p, s.head_index()),
                             mo ? words(w->head_b) : std::span<const u64>{}, nf, rows);
  replace(nf, {});

  Gpt2Result result;
  result.rows = rows;
  result.top.assign(std::size_t{rows} * o.top_k, 0);
  for (std::uint32_t k = 0; k < o.top_k; ++k) {
    // |logit| < 2^40 less 2^40 where excluded: every entry below 2^41 = 2^(43 - 2) in magnitude.
    mpc::RowArgmax best = mpc::argmax_rows(p, logits, rows, dm.vocab, kTopKExclusionBits + 3);
    mpc::Shares out = std::move(best.indices);
    replace(best.values, {});
    if (k == 0 && o.reveal_logits) out.insert(out.end(), logits.begin(), logits.end());
    std::vector<u64> opened = mpc::reveal_to_client(p, out);
    replace(out, {});
    std::vector<std::uint32_t> idx(rows, 0);
    if (!mo) {
      for (std::uint32_t r = 0; r < rows; ++r) {
        if (opened[r] >= dm.vocab) {
          throw Error(Errc::invalid_argument, "the revealed token of row " + std::to_string(r) +
                                                  " is not below the vocabulary size");
        }
        idx[r] = static_cast<std::uint32_t>(opened[r]);
        result.top[std::size_t{r} * o.top_k + k] = idx[r];
      }
      if (k == 0 && o.reveal_logits) {
        result.logits.assign(opened.begin() + rows, opened.end());
      }
    }
    cleanse(opened.data(), opened.size() * sizeof(u64));
    if (k + 1 < o.top_k) {
      // The client excludes what it has learnt; the model owner's share of the one-hot is 0.
      const mpc::Shares excluded = one_hot_input(p, idx, dm.vocab);
      for (std::size_t i = 0; i < logits.size(); ++i) {
        logits[i] -= excluded[i] << kTopKExclusionBits;
      }
    }
  }
  replace(logits, {});
  if (mo) result.top.clear();
  return result;
}

mpc::RecordedProgram record_gpt2(const model::Gpt2Shape& shape, const Gpt2PassOptions& options,
                                 bool later_pass) {
  check_pass_options(shape, options);
  Gpt2Session session(shape, nullptr);
  const std::vector<std::uint32_t> tokens{0};
  std::function<void(mpc::Party&)> setup;
  if (later_pass) {
    setup = [&](mpc::Party& p) {
      for (std::size_t i = 0; i <= session.head_index(); ++i) session.matrix(p, i);
    };
  }
  return mpc::record_program(
      mpc::Role::client, [&](mpc::Party& p) { run_gpt2(p, session, tokens, options); },
      shape.frac_bits, mpc::kMaxMagnitudeBits, setup);
}

}  // namespace ppi::inference
