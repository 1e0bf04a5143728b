// The private GPT-2 program: one body for both roles (run_gpt2), entered by the model owner with
// its folded fixed-point weights, by the client with its token ids, and by the plan recorder
// with zeros.

#include "inference/gpt2_program.hpp"

#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "mpc/arith.hpp"
#include "mpc/beaver.hpp"
#include "mpc/compare.hpp"
#include "mpc/nonlinear.hpp"
#include "mpc/truncate.hpp"

namespace ppi::inference {

namespace {

using FixedBlock = model::Gpt2FoldedBlock<u64>;

// A key the client masks scores -2^12: softmax_rows takes |x| < 2^14, so a row whose real
// scores are below 2^13 in magnitude stays in range, and exp(-2^12 - max) is 0 in fixed point.
constexpr int kMaskedScoreBits = 12;

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

// Attention weights from scores S (heads x tq x tk, 2f fractional bits): truncated, the
// client's slot mask applied (`slot_valid`: tk values, the client's private 0/1 per key, the
// model owner's share 0; a masked score becomes -kMaskedScore, far below every real one, so its
// weight after softmax is 0), then softmax over query row i's first valid[i] keys (public).
mpc::Shares attention_weights(mpc::Party& p, const Dims& dm, mpc::Shares& scores, std::uint32_t tq,
                              std::uint32_t tk, std::span<const std::uint32_t> valid,
                              const mpc::Shares* slot_valid) {
  const std::uint32_t heads = dm.heads;
  replace(scores, mpc::truncate(p, scores));
  if (slot_valid != nullptr) {
    // s' = -C + m (s + C): C for a kept key, -C for a masked one; m is an integer, so the
    // product needs no truncation.
    const u64 c = u64{1} << (kMaskedScoreBits + p.frac_bits());
    mpc::Shares shifted = mpc::add_public(p, scores, c);
    mpc::Shares mask(scores.size());
    for (std::size_t r = 0; r < std::size_t{heads} * tq; ++r) {
      std::copy(slot_valid->begin(), slot_valid->end(), mask.begin() + r * tk);
    }
    replace(scores, mpc::add_public(p, mpc::mul(p, mask, shifted), ~c + 1));
    replace(shifted, {});
  }
  std::vector<std::uint32_t> row_valid(std::size_t{heads} * tq);
  for (std::size_t r = 0; r < row_valid.size(); ++r) row_valid[r] = valid[r % tq];
  mpc::Shares probs = mpc::softmax_rows(p, scores, heads * tq, tk, row_valid);
  replace(scores, {});
  return probs;
}

// The heads' outputs O_h = P_h V_h (heads x tq x dh, 2f fractional bits), truncated, as tq rows
// of d with the heads concatenated.
mpc::Shares merge_heads(mpc::Party& p, const Dims& dm, mpc::Shares& o, std::uint32_t tq) {
  const std::uint32_t d = dm.d, dh = dm.dh;
  const std::size_t qblock = std::size_t{tq} * dh;
  replace(o, mpc::truncate(p, o));
  mpc::Shares merged(std::size_t{tq} * d);
  for (std::uint32_t h = 0; h < dm.heads; ++h) {
    for (std::uint32_t i = 0; i < tq; ++i) {
      for (std::uint32_t c = 0; c < dh; ++c) {
        merged[std::size_t{i} * d + h * dh + c] = o[h * qblock + std::size_t{i} * dh + c];
      }
    }
  }
  replace(o, {});
  return merged;
}

// Self-attention of one block: queries Q (tq x d) against keys and values K, V (tk x d), each
// row's heads concatenated; returns O (tq x d) before the output projection. Query row i sees
// the first valid[i] keys.
mpc::Shares attention(mpc::Party& p, const Dims& dm, std::span<const u64> qr,
                      std::span<const u64> kr, std::span<const u64> vr, std::uint32_t tq,
                      std::uint32_t tk, std::span<const std::uint32_t> valid) {
  const std::uint32_t d = dm.d, dh = dm.dh, heads = dm.heads;
  const std::size_t qblock = std::size_t{tq} * dh, kblock = std::size_t{tk} * dh;
  // Q_h (tq x dh), K_h^T (dh x tk) and V_h (tk x dh) for every head, contiguous per head. The
  // 1/sqrt(dh) scale is inside W_attn's Q columns.
  mpc::Shares q(heads * qblock), kt(heads * kblock), v(heads * kblock);
  for (std::uint32_t h = 0; h < heads; ++h) {
    for (std::uint32_t i = 0; i < tq; ++i) {
      for (std::uint32_t c = 0; c < dh; ++c) {
        q[h * qblock + std::size_t{i} * dh + c] = qr[std::size_t{i} * d + h * dh + c];
      }
    }
    for (std::uint32_t i = 0; i < tk; ++i) {
      for (std::uint32_t c = 0; c < dh; ++c) {
        kt[h * kblock + std::size_t{c} * tk + i] = kr[std::size_t{i} * d + h * dh + c];
        v[h * kblock + std::size_t{i} * dh + c] = vr[std::size_t{i} * d + h * dh + c];
      }
    }
  }
  mpc::Shares scores = mpc::matmul_batched(p, q, kt, heads, tq, dh, tk);
  mpc::Shares probs = attention_weights(p, dm, scores, tq, tk, valid, nullptr);
  mpc::Shares o = mpc::matmul_batched(p, probs, v, heads, tq, tk, dh);
  replace(probs, {});
  for (mpc::Shares* x : {&q, &kt, &v}) replace(*x, {});
  return merge_heads(p, dm, o, tq);
}

// Sets slots [first, first + rows) of a layer's cache from K and V rows (rows x d, heads
// concatenated): column slot of each head's K^T (dh x capacity) and row slot of its V
// (capacity x dh).
void cache_slots(const Dims& dm, Gpt2Cache::Layer& layer, std::span<const u64> k,
                 std::span<const u64> v, std::uint32_t first, std::uint32_t rows,
                 std::uint32_t capacity) {
  const std::uint32_t d = dm.d, dh = dm.dh;
  const std::size_t per = std::size_t{rows} * dh;
  std::vector<std::uint32_t> kat(per), vat(per);
  mpc::Shares kval(dm.heads * per), vval(dm.heads * per);
  for (std::uint32_t i = 0; i < rows; ++i) {
    for (std::uint32_t c = 0; c < dh; ++c) {
      kat[std::size_t{i} * dh + c] = c * capacity + first + i;
      vat[std::size_t{i} * dh + c] = (first + i) * dh + c;
      for (std::uint32_t h = 0; h < dm.heads; ++h) {
        kval[h * per + std::size_t{i} * dh + c] = k[std::size_t{i} * d + h * dh + c];
        vval[h * per + std::size_t{i} * dh + c] = v[std::size_t{i} * d + h * dh + c];
      }
    }
  }
  layer.keys.set(kat, kval);
  layer.values.set(vat, vval);
  for (mpc::Shares* x : {&kval, &vval}) replace(*x, {});
}

// A step's attention (docs/transformer.md, "Generation"): its key and value (from qkv, 3d) go
// to slot `slot` of the layer's cache, then its query's scores against slots 0..slot (the later
// slots, not set yet, are dropped), the client's `seen` mask, softmax, and the weights (0 on the
// later slots) times the cached values.
mpc::Shares cached_attention(mpc::Party& p, const Dims& dm, std::span<const u64> qkv,
                             Gpt2Cache::Layer& layer, std::uint32_t slot, std::uint32_t capacity,
                             const mpc::Shares& seen) {
  const std::uint32_t heads = dm.heads, slots = slot + 1;
  cache_slots(dm, layer, qkv.subspan(dm.d, dm.d), qkv.subspan(2 * std::size_t{dm.d}, dm.d), slot, 1,
              capacity);
  mpc::Shares q(qkv.begin(), qkv.begin() + dm.d);  // heads x dh: the heads are contiguous
  mpc::Shares all = layer.keys.multiply(p, q);
  replace(q, {});
  mpc::Shares scores(std::size_t{heads} * slots);
  for (std::uint32_t h = 0; h < heads; ++h) {
    std::copy_n(all.begin() + std::size_t{h} * capacity, slots, scores.begin() + h * slots);
  }
  replace(all, {});
  mpc::Shares probs =
      attention_weights(p, dm, scores, 1, slots, std::span<const std::uint32_t>(&slots, 1), &seen);
  mpc::Shares padded(std::size_t{heads} * capacity, 0);
  for (std::uint32_t h = 0; h < heads; ++h) {
    std::copy_n(probs.begin() + h * slots, slots, padded.begin() + std::size_t{h} * capacity);
  }
  replace(probs, {});
  mpc::Shares o = layer.values.multiply(p, padded);
  replace(padded, {});
  return merge_heads(p, dm, o, 1);
}

// Columns [from, from + d) of each of the rows x 3d rows of qkv.
mpc::Shares columns(const mpc::Shares& qkv, std::uint32_t rows, std::uint32_t d,
                    std::uint32_t from) {
  mpc::Shares out(std::size_t{rows} * d);
  for (std::uint32_t i = 0; i < rows; ++i) {
    std::copy_n(qkv.begin() + std::size_t{i} * 3 * d + from, d, out.begin() + std::size_t{i} * d);
  }
  return out;
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
  matrices_.resize(wpe_index() + 1);
  if (mask_set_.held_f.empty()) return;
  if (!mask_set_.held || mask_set_.masks == nullptr || weights_ != nullptr ||
      mask_set_.held_f.size() < head_index() + 1 || mask_set_.held_f.size() > matrices_.size()) {
    throw Error(Errc::invalid_argument,
                "a held F is the client's, one per matrix, for a session with a mask set");
  }
  for (std::size_t i = 0; i < mask_set_.held_f.size(); ++i) {
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
  if (index == wpe_index()) return {static_cast<std::uint32_t>(shape_.config.n_positions), dm.d};
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
      } else if (index == wpe_index()) {
        w = words(weights_->wpe);
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
      mpc::SecretWords f;  // the client's held F moves into the PrivateWeights
      if (!mask_set_.held_f.empty()) {
        if (index >= mask_set_.held_f.size()) {
          throw Error(Errc::conflict, "the held F has no GPT-2 matrix " + std::to_string(index));
        }
        f = std::move(mask_set_.held_f[index]);
      }
      matrices_[index] =
          mpc::held_private_weights(p, w, mask_set_.masks->weight_mask(k, n), std::move(f));
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
  if (o.steps > positions - o.bucket) {
    throw Error(Errc::invalid_argument,
                "the length bucket plus the generation steps must be at most n_positions " +
                    std::to_string(positions) + ", not " + std::to_string(o.bucket) + " + " +
                    std::to_string(o.steps));
  }
  if (o.steps > 0 && o.output != Gpt2PassOptions::Output::last) {
    throw Error(Errc::invalid_argument, "a pass that generates outputs its last position only");
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

namespace {

// One transformer block on h (rows x d), in place; `attend` maps the block's qkv (rows x 3d) to
// the heads' output (rows x d).
void block(mpc::Party& p, Gpt2Session& s, const Dims& dm, std::uint32_t layer, mpc::Shares& h,
           std::uint32_t rows, const std::function<mpc::Shares(const mpc::Shares&)>& attend) {
  const model::Gpt2FixedWeights* w = s.weights();
  const FixedBlock* lw = w != nullptr ? &w->layers[layer] : nullptr;
  auto bias = [&](const model::SecretVector<u64> FixedBlock::*member) {
    return lw != nullptr ? words(lw->*member) : std::span<const u64>{};
  };
  const double eps = s.shape().config.layer_norm_epsilon;
  mpc::Shares n = mpc::layer_norm(p, h, rows, dm.d, eps);
  mpc::Shares qkv =
      dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 0)), bias(&FixedBlock::attn_b), n, rows);
  mpc::Shares attn = attend(qkv);
  replace(qkv, {});
  mpc::Shares a = dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 1)),
                        bias(&FixedBlock::proj_b), attn, rows);
  add_into(h, a);
  replace(n, mpc::layer_norm(p, h, rows, dm.d, eps));
  mpc::Shares u =
      dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 2)), bias(&FixedBlock::fc_b), n, rows);
  replace(u, mpc::gelu(p, u));
  mpc::Shares m =
      dense(p, s.matrix(p, Gpt2Session::layer_index(layer, 3)), bias(&FixedBlock::out_b), u, rows);
  add_into(h, m);
  for (mpc::Shares* v : {&n, &attn, &a, &u, &m}) replace(*v, {});
}

// The output: logits = trunc(nf W_head) + b_head for `rows` normalised rows, then the top_k
// indices of each row (and the logits, when revealed) to the client alone. The argmax alone
// (top-1, no logits revealed) needs no truncation, since the order of the logits is the same
// at 2f fractional bits: the vocabulary's V truncations (most of a generation step's TRUNC
// material) are skipped, and the comparisons are kMaxLogitBits + 2f + 2 wide.
Gpt2Result choose(mpc::Party& p, Gpt2Session& s, const Dims& dm, mpc::Shares& nf,
                  std::uint32_t rows, const Gpt2PassOptions& o) {
  const bool mo = p.is_model_owner();
  const bool untruncated = o.top_k == 1 && !o.reveal_logits;
  const std::span<const u64> head_b = mo ? words(s.weights()->head_b) : std::span<const u64>{};
  mpc::Shares logits;
  if (untruncated) {
    logits = mpc::linear(p, s.matrix(p, s.head_index()), nf, rows);
    for (std::size_t r = 0; mo && r < rows; ++r) {
      for (std::size_t j = 0; j < dm.vocab; ++j)
        logits[r * dm.vocab + j] += head_b[j] << p.frac_bits();
    }
  } else {
    logits = dense(p, s.matrix(p, s.head_index()), head_b, nf, rows);
  }
  replace(nf, {});
  // |logit| < 2^40 less 2^40 where excluded: every entry below 2^41 = 2^(43 - 2) in magnitude.
  const int width = untruncated ? kMaxLogitBits + 2 * p.frac_bits() + 2 : kTopKExclusionBits + 3;
  if (!mo && s.choice_noise()) {
    s.choice_noise()(logits, untruncated ? 2 * p.frac_bits() : p.frac_bits());
  }
  Gpt2Result result;
  result.rows = rows;
  result.top.assign(std::size_t{rows} * o.top_k, 0);
  for (std::uint32_t k = 0; k < o.top_k; ++k) {
    mpc::RowArgmax best = mpc::argmax_rows(p, logits, rows, dm.vocab, width);
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

void check_party(const mpc::Party& p, const model::Gpt2Shape& shape) {
  if (p.frac_bits() != shape.frac_bits) {
    throw Error(Errc::internal, "the party's fixed point is not the model's");
  }
}

}  // namespace

Gpt2Result run_gpt2(mpc::Party& p, Gpt2Session& s, std::span<const std::uint32_t> tokens,
                    const Gpt2PassOptions& o, Gpt2Cache* cache) {
  const model::Gpt2Shape& shape = s.shape();
  check_pass_options(shape, o);
  const bool mo = p.is_model_owner();
  const Dims dm = dims_of(shape);
  const std::uint32_t t = o.bucket;
  if (mo && !tokens.empty()) throw Error(Errc::internal, "the model owner has no tokens");
  if (!mo) check_pass_tokens(shape, o, tokens);
  check_party(p, shape);
  if (o.steps > 0 && cache == nullptr) {
    throw Error(Errc::internal, "a pass that generates keeps its cache");
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

  if (cache != nullptr) {
    *cache = Gpt2Cache{};
    cache->bucket = cache->slots = t;
    cache->prompt_length = mo ? 0 : static_cast<std::uint32_t>(tokens.size());
  }
  const std::uint32_t capacity = t + o.steps;
  std::vector<std::uint32_t> causal(t);
  for (std::uint32_t i = 0; i < t; ++i) causal[i] = i + 1;
  for (std::uint32_t layer = 0; layer < dm.layers; ++layer) {
    block(p, s, dm, layer, h, t, [&](const mpc::Shares& qkv) {
      mpc::Shares q = columns(qkv, t, dm.d, 0), k = columns(qkv, t, dm.d, dm.d),
                  v = columns(qkv, t, dm.d, 2 * dm.d);
      mpc::Shares o_heads = attention(p, dm, q, k, v, t, t, causal);
      replace(q, {});
      if (cache != nullptr && o.steps > 0) {
        // The products every step of this layer takes its scores and outputs from.
        cache->layers.push_back({mpc::GrowingMatmul(p, dm.heads, o.steps, dm.dh, capacity),
                                 mpc::GrowingMatmul(p, dm.heads, o.steps, capacity, dm.dh)});
        cache_slots(dm, cache->layers.back(), k, v, 0, t, capacity);
      }
      replace(k, {});
      replace(v, {});
      return o_heads;
    });
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
  return choose(p, s, dm, nf, rows, o);
}

Gpt2Result run_gpt2_step(mpc::Party& p, Gpt2Session& s, Gpt2Cache& cache, std::uint32_t token,
                         const Gpt2PassOptions& o) {
  const model::Gpt2Shape& shape = s.shape();
  check_pass_options(shape, o);
  check_party(p, shape);
  const bool mo = p.is_model_owner();
  const Dims dm = dims_of(shape);
  if (cache.layers.size() != dm.layers || cache.bucket != o.bucket || cache.slots < cache.bucket) {
    throw Error(Errc::internal, "a generation step needs the cache of its prompt pass");
  }
  const std::uint32_t step = cache.slots - cache.bucket;  // public: the steps done so far
  if (step >= o.steps) {
    throw Error(Errc::conflict, "the generation has taken its " + std::to_string(o.steps) +
                                    " steps: the material was made for that many");
  }
  if (!mo && token >= dm.vocab) {
    throw Error(Errc::invalid_argument, "token " + std::to_string(token) +
                                            " is not below the vocabulary size " +
                                            std::to_string(dm.vocab));
  }
  // The new row: the client's one-hots of its token and of its position L + step (private:
  // the model owner knows neither), times wte and wpe by their weight masks (exact: integers).
  const std::uint32_t tok = mo ? 0 : token;
  const std::uint32_t pos = mo ? 0 : cache.prompt_length + step;
  mpc::Shares x = one_hot_input(p, std::span<const std::uint32_t>(&tok, 1), dm.vocab);
  mpc::Shares h = mpc::linear(p, s.matrix(p, Gpt2Session::wte_index()), x, 1);
  replace(x, one_hot_input(p, std::span<const std::uint32_t>(&pos, 1),
                           static_cast<std::uint32_t>(shape.config.n_positions)));
  add_into(h, mpc::linear(p, s.matrix(p, s.wpe_index()), x, 1));
  replace(x, {});

  // Which slots the new row sees: the prompt's real ones (j < L, the client's secret) and every
  // step's; the padding slots L..T-1 are masked. The client's 0/1 is its private input.
  const std::uint32_t slots = cache.slots + 1;
  mpc::Shares seen(slots, 0);
  if (!mo) {
    for (std::uint32_t j = 0; j < slots; ++j) {
      seen[j] = (j < cache.prompt_length || j >= cache.bucket) ? 1 : 0;
    }
  }
  for (std::uint32_t layer = 0; layer < dm.layers; ++layer) {
    block(p, s, dm, layer, h, 1, [&](const mpc::Shares& qkv) {
      return cached_attention(p, dm, qkv, cache.layers[layer], cache.slots, cache.bucket + o.steps,
                              seen);
    });
  }
  cache.slots = slots;
  replace(seen, {});
  mpc::Shares nf = mpc::layer_norm(p, h, 1, dm.d, shape.config.layer_norm_epsilon);
  replace(h, {});
  return choose(p, s, dm, nf, 1, o);
}

Gpt2Session::ChoiceNoise gumbel_noise(double temperature) {
  if (!(temperature > 0) || temperature > kMaxTemperature) {
    throw Error(Errc::invalid_argument,
                "the temperature must be above 0 and at most " + std::to_string(kMaxTemperature));
  }
  return [temperature](std::span<u64> logits, int scale_bits) {
    std::vector<std::uint64_t> raw(logits.size());
    random_bytes({reinterpret_cast<std::uint8_t*>(raw.data()), raw.size() * sizeof(std::uint64_t)});
    const double scale = std::ldexp(temperature, scale_bits);
    for (std::size_t j = 0; j < logits.size(); ++j) {
      // u in (0, 1): 53 random bits, centred in their interval.
      const double u = (static_cast<double>(raw[j] >> 11) + 0.5) * 0x1p-53;
      const double g = -std::log(-std::log(u));
      logits[j] += static_cast<u64>(std::llround(scale * g));
    }
    cleanse(raw.data(), raw.size() * sizeof(std::uint64_t));
  };
}

std::uint32_t run_gpt2_generation(mpc::Party& p, Gpt2Session& s,
                                  std::span<const std::uint32_t> prompt, const Gpt2PassOptions& o,
                                  const Gpt2Next& next) {
  const bool mo = p.is_model_owner();
  if (!mo && !next) throw Error(Errc::internal, "the client chooses the tokens of a generation");
  Gpt2Cache cache;
  Gpt2Result r = run_gpt2(p, s, prompt, o, o.steps > 0 ? &cache : nullptr);
  // wpe, which only the steps use, is shared now whether a step comes or not, so that a session
  // leaves the client every F of the mask set (the setup order of record_gpt2).
  if (o.steps > 0) s.matrix(p, s.wpe_index());
  std::uint32_t results = 1;
  for (std::uint32_t step = 0; step < o.steps; ++step) {
    std::optional<std::uint32_t> token;
    if (!mo) {
      token = next(r);
      const std::vector<u64> go{token ? u64{1} : u64{0}};
      p.channel().send(go);
    } else if (p.channel().receive(1).at(0) != 0) {
      token = 0;
    }
    if (!token) return results;
    r = run_gpt2_step(p, s, cache, *token, o);
    ++results;
  }
  if (!mo) next(r);  // the last result: nothing more to feed
  return results;
}

mpc::RecordedProgram record_gpt2(const model::Gpt2Shape& shape, const Gpt2PassOptions& options,
                                 bool later_pass) {
  check_pass_options(shape, options);
  if (options.steps > 0 && !later_pass) {
    throw Error(Errc::invalid_argument,
                "a generation's batches pair with the model's mask set: record it as a later pass");
  }
  Gpt2Session session(shape, nullptr);
  const std::vector<std::uint32_t> tokens{0};
  std::function<void(mpc::Party&)> setup;
  if (later_pass) {
    // Every matrix the pass and its steps use (wpe only when it generates).
    const std::size_t used = options.steps > 0 ? session.wpe_index() : session.head_index();
    setup = [&session, used](mpc::Party& p) {
      for (std::size_t i = 0; i <= used; ++i) session.matrix(p, i);
    };
  }
  return mpc::record_program(
      mpc::Role::client,
      [&](mpc::Party& p) {
        run_gpt2_generation(p, session, tokens, options,
                            [](const Gpt2Result&) { return std::optional<std::uint32_t>(0); });
      },
      shape.frac_bits, mpc::kMaxMagnitudeBits, setup);
}

}  // namespace ppi::inference
