#pragma once
// GPT-2 as users have it: a Hugging Face directory with config.json and model.safetensors, the
// float model it defines (the plaintext reference), and the weights of the private program,
// folded and encoded in fixed point.
//
// Layout: every matrix is row-major [in, out] and a layer computes y = x W + b for a row
// vector x, which is how GPT-2's Conv1D stores its weight, so the loader never transposes. The
// token embedding wte is [V, d] and doubles as the LM head (logits = x wte^T, tied).
//
// Files (see docs/models.md for the full table):
//   config.json        n_layer, n_head, n_embd, n_positions (or n_ctx), vocab_size,
//                      layer_norm_epsilon (1e-5 when absent, as in transformers),
//                      activation_function "gelu_new" or "gelu_pytorch_tanh" when present.
//   model.safetensors  wte.weight [V, d], wpe.weight [P, d], ln_f.{weight,bias} [d], and per
//                      layer N: h.N.ln_1.*, h.N.attn.c_attn.{weight [d, 3d], bias [3d]},
//                      h.N.attn.c_proj.{weight [d, d], bias [d]}, h.N.ln_2.*,
//                      h.N.mlp.c_fc.{weight [d, 4d], bias [4d]},
//                      h.N.mlp.c_proj.{weight [4d, d], bias [d]}; all with or without the
//                      "transformer." prefix (one convention per file). F16, BF16, F32, F64.
//                      The buffers h.N.attn.bias and h.N.attn.masked_bias are ignored; an
//                      lm_head.weight must equal wte (untied heads are refused); nothing else.
// Every refusal is Error(invalid_argument) naming the tensor or key and the problem; a missing
// file is Error(not_found) naming the path.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/safetensors.hpp"
#include "model/secret_vector.hpp"
#include "ring/z2k.hpp"

namespace ppi::model {

// Bounds a configuration must respect: they keep a config (or a shape received from the peer)
// from asking for absurd allocations.
inline constexpr std::size_t kGpt2MaxLayers = 128;
inline constexpr std::size_t kGpt2MaxEmbd = 8192;
inline constexpr std::size_t kGpt2MaxVocab = std::size_t{1} << 20;
inline constexpr std::size_t kGpt2MaxPositions = std::size_t{1} << 16;

struct Gpt2Config {
  std::size_t n_layer = 0;
  std::size_t n_head = 0;
  std::size_t n_embd = 0;       // d
  std::size_t n_positions = 0;  // P, the longest sequence
  std::size_t vocab_size = 0;   // V
  double layer_norm_epsilon = 1e-5;

  std::size_t d_head() const { return n_embd / n_head; }
  // Error(invalid_argument) unless every count is in 1..its bound, n_head divides n_embd and
  // 0 < epsilon < 1.
  void validate() const;
  bool operator==(const Gpt2Config&) const = default;
};

// A Hugging Face config.json, validated. Keys this project has no use for are ignored, but those
// that would change the computation must have GPT-2's values when present: model_type "gpt2",
// activation_function (above), n_inner null or 4 n_embd, scale_attn_weights true,
// scale_attn_by_inverse_layer_idx false, add_cross_attention false, tie_word_embeddings true.
// n_positions wins over n_ctx when both are present.
Gpt2Config parse_gpt2_config(const nlohmann::json& j);
// Error(not_found) when the file cannot be opened; invalid_argument (naming the path) otherwise.
Gpt2Config read_gpt2_config(const std::filesystem::path& path);

// One transformer block as the file has it.
struct Gpt2Block {
  SecretVector<double> ln1_g, ln1_b;    // [d]
  SecretVector<double> attn_w, attn_b;  // [d, 3d] (q | k | v columns), [3d]
  SecretVector<double> proj_w, proj_b;  // [d, d], [d]
  SecretVector<double> ln2_g, ln2_b;    // [d]
  SecretVector<double> fc_w, fc_b;      // [d, 4d], [4d]
  SecretVector<double> out_w, out_b;    // mlp.c_proj: [4d, d], [d]
};

struct Gpt2Weights {
  Gpt2Config config;
  SecretVector<double> wte;  // [V, d]
  SecretVector<double> wpe;  // [P, d]
  std::vector<Gpt2Block> layers;
  SecretVector<double> lnf_g, lnf_b;  // [d]
};

// The tensors of a file image against a config (the convention above). Every value is finite.
Gpt2Weights load_gpt2(const Gpt2Config& config, const SafeTensors& st);
// dir/config.json and dir/model.safetensors.
Gpt2Weights load_gpt2(const std::filesystem::path& dir);

// Error(invalid_argument) naming the first buffer whose size does not match the config.
void validate(const Gpt2Weights& w);

// The float model: logits T x V (row-major) for tokens t_0..t_{T-1}, with causal attention,
// GELU in its tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) and LayerNorm with the
// biased variance and epsilon inside the square root, as GPT-2. Error(invalid_argument) unless
// 1 <= T <= n_positions and every token is below V.
std::vector<double> gpt2_float_forward(const Gpt2Weights& w, std::span<const std::uint32_t> tokens);

// The weights of the private program. Folding is exact in the reals, so the private program
// may apply LayerNorm without its affine part and no attention scale:
//   attn_w = diag(ln1_g) c_attn.W, attn_b = ln1_b c_attn.W + c_attn.b, then the q columns (the
//   first d) of both times 1/sqrt(d_head); fc_w, fc_b from ln_2 and mlp.c_fc the same way;
//   head_w = diag(lnf_g) wte^T [d, V], head_b = lnf_b wte^T [V]; the rest as loaded.
template <class T>
struct Gpt2FoldedBlock {
  SecretVector<T> attn_w, attn_b;  // [d, 3d], [3d]
  SecretVector<T> proj_w, proj_b;  // [d, d], [d]
  SecretVector<T> fc_w, fc_b;      // [d, 4d], [4d]
  SecretVector<T> out_w, out_b;    // [4d, d], [d]
};

template <class T>
struct Gpt2FoldedParams {
  Gpt2Config config;
  SecretVector<T> wte;  // [V, d]
  SecretVector<T> wpe;  // [P, d]
  std::vector<Gpt2FoldedBlock<T>> layers;
  SecretVector<T> head_w;  // [d, V]
  SecretVector<T> head_b;  // [V]
};

using Gpt2Folded = Gpt2FoldedParams<double>;

// Every value encoded with frac_bits fractional bits (ring/fixed_point.hpp: two's complement,
// round to nearest).
struct Gpt2FixedWeights : Gpt2FoldedParams<u64> {
  int frac_bits = 16;
};

Gpt2Folded fold_gpt2(const Gpt2Weights& w);
// Error(invalid_argument) unless 1 <= frac_bits <= FixedPoint::kMaxFracBits and every value
// encodes (|x| 2^f < 2^62), naming the tensor otherwise.
Gpt2FixedWeights encode_gpt2(const Gpt2Folded& folded, int frac_bits);

// The float model on folded weights (LayerNorm without affine, no attention scale, head_w and
// head_b as the head): the same logits as gpt2_float_forward up to rounding.
std::vector<double> gpt2_float_forward_folded(const Gpt2Folded& f,
                                              std::span<const std::uint32_t> tokens);

// The public description of a GPT-2 that the client may know: no weights.
struct Gpt2Shape {
  Gpt2Config config;
  int frac_bits = 16;

  static Gpt2Shape of(const Gpt2FixedWeights& w);
  // {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024, "vocab_size": 50257,
  //  "layer_norm_epsilon": 1e-05, "frac_bits": 16}
  nlohmann::json to_json() const;
  // Strict: Error(invalid_argument) on a missing or unknown key, a value of the wrong type, or a
  // shape validate() refuses.
  static Gpt2Shape from_json(const nlohmann::json& j);
  // config.validate() and 1 <= frac_bits <= FixedPoint::kMaxFracBits.
  void validate() const;
  bool operator==(const Gpt2Shape&) const = default;
};

}  // namespace ppi::model
