#include "model/gpt2.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numbers>
#include <set>
#include <string>

#include "core/error.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::model {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) {
  throw Error(Errc::invalid_argument, "gpt2: " + what);
}

constexpr std::string_view kPrefix = "transformer.";
constexpr std::string_view kLmHead = "lm_head.weight";

// ---------------------------------------------------------------------------------------------
// JSON fields (config.json and the shape)

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// A non-negative JSON integer. A C++-built json holds an int as signed, a parsed one as
// unsigned: both are accepted; floats, booleans and strings are not.
std::size_t json_count(const json& v, std::string_view key, const std::string& where) {
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
    bad(where + ": " + in_quotes(key) + " is not a non-negative integer");
  }
  return static_cast<std::size_t>(v.get<std::uint64_t>());
}

double json_real(const json& v, std::string_view key, const std::string& where) {
  if (!v.is_number()) bad(where + ": " + in_quotes(key) + " is not a number");
  return v.get<double>();
}

void expect_bool(const json& j, const char* key, bool wanted) {
  if (!j.contains(key)) return;
  if (!j.at(key).is_boolean() || j.at(key).get<bool>() != wanted) {
    bad(std::string("config: ") + in_quotes(key) + " must be " + (wanted ? "true" : "false") +
        " (found " + j.at(key).dump() + ")");
  }
}

// ---------------------------------------------------------------------------------------------
// Loading tensors

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool is_float(DType d) {
  return d == DType::F16 || d == DType::BF16 || d == DType::F32 || d == DType::F64;
}

// A transformer buffer real checkpoints carry (the causal mask and its fill value): h.N.attn.bias
// or h.N.attn.masked_bias, N a layer index written without leading zeros.
bool is_attention_buffer(std::string_view name, std::size_t n_layer) {
  if (!name.starts_with("h.")) return false;
  name.remove_prefix(2);
  const std::size_t digits = name.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || digits > 4) return false;
  if (digits > 1 && name[0] == '0') return false;
  const std::size_t layer = std::stoul(std::string(name.substr(0, digits)));
  const std::string_view rest = name.substr(digits);
  return layer < n_layer && (rest == ".attn.bias" || rest == ".attn.masked_bias");
}

// Finds the naming convention of a file: every name but lm_head.weight either has the prefix
// or not.
std::string detect_prefix(const SafeTensors& st) {
  const std::string* with = nullptr;
  const std::string* without = nullptr;
  for (const auto& [name, t] : st.tensors) {
    if (name == kLmHead) continue;
    (name.starts_with(kPrefix) ? with : without) = &name;
  }
  if (with != nullptr && without != nullptr) {
    bad("tensor names mix the " + in_quotes(kPrefix) + " prefix (" + in_quotes(*with) +
        ") and no prefix (" + in_quotes(*without) + "); a file uses one convention");
  }
  return with != nullptr ? std::string(kPrefix) : std::string();
}

class TensorReader {
 public:
  TensorReader(const SafeTensors& st, std::string prefix) : st_(st), prefix_(std::move(prefix)) {}

  // The tensor `name` (without the prefix) of shape `shape`, as doubles, all finite. `meaning`
  // says the shape in the config's terms for the error message.
  SecretVector<double> take(const std::string& name, const std::vector<std::uint64_t>& shape,
                            const std::string& meaning) {
    const std::string full = prefix_ + name;
    auto it = st_.tensors.find(full);
    if (it == st_.tensors.end()) bad("missing tensor " + in_quotes(full));
    used_.insert(full);
    return values(full, it->second, shape, meaning);
  }

  static SecretVector<double> values(const std::string& full, const Tensor& t,
                                     const std::vector<std::uint64_t>& shape,
                                     const std::string& meaning) {
    const std::string where = "tensor " + in_quotes(full);
    if (!is_float(t.dtype)) {
      bad(where + ": dtype " + std::string(dtype_name(t.dtype)) +
          " is not a float dtype (F16, BF16, F32, F64)");
    }
    if (t.shape != shape) {
      bad(where + ": shape " + shape_text(t.shape) + " does not match the config, expected " +
          shape_text(shape) + " (" + meaning + ")");
    }
    SecretVector<double> v = t.to_doubles();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        bad(where + ": element " + std::to_string(i) + " is " +
            (std::isnan(v[i]) ? "NaN"
             : v[i] > 0       ? "inf"
                              : "-inf") +
            " (weights must be finite)");
      }
    }
    return v;
  }

  bool used(const std::string& full) const { return used_.contains(full); }
  const std::string& prefix() const { return prefix_; }

 private:
  const SafeTensors& st_;
  std::string prefix_;
  std::set<std::string> used_;
};

// ---------------------------------------------------------------------------------------------
// Checks of in-memory weights

template <class V>
void check_size(const V& v, std::size_t n, const std::string& what) {
  if (v.size() != n) {
    bad(what + " has " + std::to_string(v.size()) + " values, the config needs " +
        std::to_string(n));
  }
}

// The matrices every block has, loaded or folded.
template <class Block>
void check_block_sizes(const Block& b, std::size_t d, const std::string& layer) {
  check_size(b.attn_w, d * 3 * d, layer + "attn_w");
  check_size(b.attn_b, 3 * d, layer + "attn_b");
  check_size(b.proj_w, d * d, layer + "proj_w");
  check_size(b.proj_b, d, layer + "proj_b");
  check_size(b.fc_w, d * 4 * d, layer + "fc_w");
  check_size(b.fc_b, 4 * d, layer + "fc_b");
  check_size(b.out_w, 4 * d * d, layer + "out_w");
  check_size(b.out_b, d, layer + "out_b");
}

template <class T>
void validate_folded(const Gpt2FoldedParams<T>& f) {
  const Gpt2Config& c = f.config;
  c.validate();
  const std::size_t d = c.n_embd;
  check_size(f.wte, c.vocab_size * d, "wte");
  check_size(f.wpe, c.n_positions * d, "wpe");
  check_size(f.head_w, d * c.vocab_size, "head_w");
  check_size(f.head_b, c.vocab_size, "head_b");
  check_size(f.layers, c.n_layer, "layers");
  for (std::size_t n = 0; n < f.layers.size(); ++n) {
    check_block_sizes(f.layers[n], d, "layer " + std::to_string(n) + " ");
  }
}

// ---------------------------------------------------------------------------------------------
// The float model, shared by the loaded and the folded weights

using Span = std::span<const double>;

struct BlockRef {
  Span ln1_g, ln1_b;  // empty: LayerNorm without affine (folded)
  Span attn_w, attn_b, proj_w, proj_b;
  Span ln2_g, ln2_b;
  Span fc_w, fc_b, out_w, out_b;
};

struct ModelRef {
  const Gpt2Config* config;
  Span wte, wpe;
  std::vector<BlockRef> blocks;
  Span lnf_g, lnf_b;    // empty: no affine
  double score_scale;   // 1/sqrt(d_head), or 1 when folded into the q columns
  Span head_w, head_b;  // empty: the tied head x wte^T
};

// Rows of x (each `width` wide) normalised in place: biased variance, eps inside the root.
void layer_norm(std::vector<double>& x, std::size_t width, Span g, Span b, double eps) {
  for (std::size_t r = 0; r < x.size() / width; ++r) {
    double* row = x.data() + r * width;
    double mean = 0;
    for (std::size_t i = 0; i < width; ++i) mean += row[i];
    mean /= static_cast<double>(width);
    double var = 0;
    for (std::size_t i = 0; i < width; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= static_cast<double>(width);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (std::size_t i = 0; i < width; ++i) {
      row[i] = (row[i] - mean) * inv;
      if (!g.empty()) row[i] = row[i] * g[i] + b[i];
    }
  }
}

// x [rows, k] times w [k, n] plus b [n].
std::vector<double> affine(const std::vector<double>& x, std::size_t k, Span w, Span b) {
  const std::size_t n = b.size();
  const std::size_t rows = x.size() / k;
  std::vector<double> y(rows * n);
  for (std::size_t r = 0; r < rows; ++r) {
    double* out = y.data() + r * n;
    std::copy(b.begin(), b.end(), out);
    for (std::size_t i = 0; i < k; ++i) {
      const double a = x[r * k + i];
      const double* wi = w.data() + i * n;
      for (std::size_t j = 0; j < n; ++j) out[j] += a * wi[j];
    }
  }
  return y;
}

double gelu_tanh(double x) {
  const double c = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
}

// qkv [T, 3d] (q | k | v, head h in columns h d_head .. (h+1) d_head of each) to [T, d].
std::vector<double> causal_attention(const std::vector<double>& qkv, const Gpt2Config& c,
                                     double scale) {
  const std::size_t d = c.n_embd;
  const std::size_t dh = c.d_head();
  const std::size_t T = qkv.size() / (3 * d);
  std::vector<double> out(T * d, 0.0);
  std::vector<double> weights(T);
  for (std::size_t h = 0; h < c.n_head; ++h) {
    for (std::size_t t = 0; t < T; ++t) {
      const double* q = qkv.data() + t * 3 * d + h * dh;
      double max = -std::numeric_limits<double>::infinity();
      for (std::size_t u = 0; u <= t; ++u) {
        const double* k = qkv.data() + u * 3 * d + d + h * dh;
        double s = 0;
        for (std::size_t i = 0; i < dh; ++i) s += q[i] * k[i];
        weights[u] = s * scale;
        max = std::max(max, weights[u]);
      }
      double sum = 0;
      for (std::size_t u = 0; u <= t; ++u) sum += weights[u] = std::exp(weights[u] - max);
      double* o = out.data() + t * d + h * dh;
      for (std::size_t u = 0; u <= t; ++u) {
        const double* v = qkv.data() + u * 3 * d + 2 * d + h * dh;
        for (std::size_t i = 0; i < dh; ++i) o[i] += weights[u] / sum * v[i];
      }
    }
  }
  return out;
}

void check_tokens(const Gpt2Config& c, std::span<const std::uint32_t> tokens) {
  if (tokens.empty()) bad("no tokens");
  if (tokens.size() > c.n_positions) {
    bad(std::to_string(tokens.size()) +
        " tokens, more than n_positions = " + std::to_string(c.n_positions));
  }
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t] >= c.vocab_size) {
      bad("token " + std::to_string(t) + " is " + std::to_string(tokens[t]) +
          ", not below vocab_size = " + std::to_string(c.vocab_size));
    }
  }
}

std::vector<double> forward(const ModelRef& m, std::span<const std::uint32_t> tokens) {
  const Gpt2Config& c = *m.config;
  check_tokens(c, tokens);
  const std::size_t d = c.n_embd;
  const std::size_t T = tokens.size();
  std::vector<double> x(T * d);
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t i = 0; i < d; ++i) x[t * d + i] = m.wte[tokens[t] * d + i] + m.wpe[t * d + i];
  }
  for (const BlockRef& b : m.blocks) {
    std::vector<double> h = x;
    layer_norm(h, d, b.ln1_g, b.ln1_b, c.layer_norm_epsilon);
    const std::vector<double> a =
        affine(causal_attention(affine(h, d, b.attn_w, b.attn_b), c, m.score_scale), d, b.proj_w,
               b.proj_b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += a[i];
    h = x;
    layer_norm(h, d, b.ln2_g, b.ln2_b, c.layer_norm_epsilon);
    std::vector<double> f = affine(h, d, b.fc_w, b.fc_b);
    for (double& v : f) v = gelu_tanh(v);
    const std::vector<double> o = affine(f, 4 * d, b.out_w, b.out_b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
  }
  layer_norm(x, d, m.lnf_g, m.lnf_b, c.layer_norm_epsilon);
  if (!m.head_w.empty()) return affine(x, d, m.head_w, m.head_b);
  const std::size_t V = c.vocab_size;
  std::vector<double> logits(T * V);
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t v = 0; v < V; ++v) {
      double s = 0;
      for (std::size_t i = 0; i < d; ++i) s += x[t * d + i] * m.wte[v * d + i];
      logits[t * V + v] = s;
    }
  }
  return logits;
}

// ---------------------------------------------------------------------------------------------
// Folding and encoding

// LayerNorm's affine (g, beta) folded into the layer after it: W' = diag(g) W,
// b' = beta W + b, for W [in, out].
void fold_affine(const SecretVector<double>& g, const SecretVector<double>& beta,
                 const SecretVector<double>& w, const SecretVector<double>& b,
                 SecretVector<double>& w_out, SecretVector<double>& b_out) {
  const std::size_t in = g.size();
  const std::size_t out = b.size();
  w_out.assign(in * out, 0.0);
  b_out.assign(b.begin(), b.end());
  for (std::size_t i = 0; i < in; ++i) {
    for (std::size_t j = 0; j < out; ++j) {
      w_out[i * out + j] = g[i] * w[i * out + j];
      b_out[j] += beta[i] * w[i * out + j];
    }
  }
}

SecretVector<u64> encode_all(const FixedPoint& fp, const SecretVector<double>& v,
                             const std::string& name) {
  SecretVector<u64> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    try {
      out[i] = fp.encode(v[i]);
    } catch (const Error& e) {
      bad(name + " element " + std::to_string(i) + ": " + e.what());
    }
  }
  return out;
}

}  // namespace

// -----------------------------------------------------------------------------------------------

void Gpt2Config::validate() const {
  const auto in_range = [](const char* key, std::size_t v, std::size_t max) {
    if (v == 0 || v > max) {
      bad("config: " + in_quotes(key) + " = " + std::to_string(v) + " is not in 1.." +
          std::to_string(max));
    }
  };
  in_range("n_layer", n_layer, kGpt2MaxLayers);
  in_range("n_embd", n_embd, kGpt2MaxEmbd);
  in_range("n_head", n_head, n_embd);
  in_range("n_positions", n_positions, kGpt2MaxPositions);
  in_range("vocab_size", vocab_size, kGpt2MaxVocab);
  if (n_embd % n_head != 0) {
    bad("config: \"n_embd\" = " + std::to_string(n_embd) +
        " is not a multiple of \"n_head\" = " + std::to_string(n_head));
  }
  if (!(layer_norm_epsilon > 0 && layer_norm_epsilon < 1)) {
    bad("config: \"layer_norm_epsilon\" = " + std::to_string(layer_norm_epsilon) +
        " is not in (0, 1)");
  }
}

Gpt2Config parse_gpt2_config(const json& j) {
  const std::string where = "config";
  if (!j.is_object()) bad("config is not a JSON object");
  const auto count = [&](const char* key) {
    if (!j.contains(key)) bad("config: missing key " + in_quotes(key));
    return json_count(j.at(key), key, where);
  };
  Gpt2Config c;
  c.n_layer = count("n_layer");
  c.n_head = count("n_head");
  c.n_embd = count("n_embd");
  c.vocab_size = count("vocab_size");
  if (j.contains("n_positions")) {
    c.n_positions = count("n_positions");
  } else if (j.contains("n_ctx")) {
    c.n_positions = count("n_ctx");
  } else {
    bad("config: missing key \"n_positions\" (or its old name \"n_ctx\")");
  }
  if (j.contains("layer_norm_epsilon")) {
    c.layer_norm_epsilon = json_real(j.at("layer_norm_epsilon"), "layer_norm_epsilon", where);
  }
  if (j.contains("activation_function")) {
    const json& a = j.at("activation_function");
    if (!a.is_string() || (a != "gelu_new" && a != "gelu_pytorch_tanh")) {
      bad("config: \"activation_function\" is " + a.dump() +
          "; only the tanh GELU (\"gelu_new\", \"gelu_pytorch_tanh\") is supported");
    }
  }
  if (j.contains("model_type") && j.at("model_type") != "gpt2") {
    bad("config: \"model_type\" is " + j.at("model_type").dump() + ", not \"gpt2\"");
  }
  if (j.contains("n_inner") && !j.at("n_inner").is_null() &&
      json_count(j.at("n_inner"), "n_inner", where) != 4 * c.n_embd) {
    bad("config: \"n_inner\" is " + j.at("n_inner").dump() +
        "; only null or 4 n_embd (the GPT-2 MLP) is supported");
  }
  expect_bool(j, "scale_attn_weights", true);
  expect_bool(j, "scale_attn_by_inverse_layer_idx", false);
  expect_bool(j, "add_cross_attention", false);
  expect_bool(j, "tie_word_embeddings", true);
  c.validate();
  return c;
}

Gpt2Config read_gpt2_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(Errc::not_found, "gpt2: cannot open " + path.string());
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    bad(path.string() + " is not valid JSON: " + e.what());
  }
  try {
    return parse_gpt2_config(j);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

Gpt2Weights load_gpt2(const Gpt2Config& config, const SafeTensors& st) {
  config.validate();
  TensorReader r(st, detect_prefix(st));
  const std::uint64_t d = config.n_embd;
  Gpt2Weights w;
  w.config = config;
  w.wte = r.take("wte.weight", {config.vocab_size, d}, "[vocab_size, n_embd]");
  w.wpe = r.take("wpe.weight", {config.n_positions, d}, "[n_positions, n_embd]");
  for (std::size_t n = 0; n < config.n_layer; ++n) {
    const std::string h = "h." + std::to_string(n) + ".";
    Gpt2Block b;
    b.ln1_g = r.take(h + "ln_1.weight", {d}, "[n_embd]");
    b.ln1_b = r.take(h + "ln_1.bias", {d}, "[n_embd]");
    b.attn_w = r.take(h + "attn.c_attn.weight", {d, 3 * d}, "[n_embd, 3 n_embd]");
    b.attn_b = r.take(h + "attn.c_attn.bias", {3 * d}, "[3 n_embd]");
    b.proj_w = r.take(h + "attn.c_proj.weight", {d, d}, "[n_embd, n_embd]");
    b.proj_b = r.take(h + "attn.c_proj.bias", {d}, "[n_embd]");
    b.ln2_g = r.take(h + "ln_2.weight", {d}, "[n_embd]");
    b.ln2_b = r.take(h + "ln_2.bias", {d}, "[n_embd]");
    b.fc_w = r.take(h + "mlp.c_fc.weight", {d, 4 * d}, "[n_embd, 4 n_embd]");
    b.fc_b = r.take(h + "mlp.c_fc.bias", {4 * d}, "[4 n_embd]");
    b.out_w = r.take(h + "mlp.c_proj.weight", {4 * d, d}, "[4 n_embd, n_embd]");
    b.out_b = r.take(h + "mlp.c_proj.bias", {d}, "[n_embd]");
    w.layers.push_back(std::move(b));
  }
  w.lnf_g = r.take("ln_f.weight", {d}, "[n_embd]");
  w.lnf_b = r.take("ln_f.bias", {d}, "[n_embd]");

  for (const auto& [name, t] : st.tensors) {
    if (r.used(name)) continue;
    if (name == kLmHead) {
      const SecretVector<double> head =
          TensorReader::values(name, t, {config.vocab_size, d}, "[vocab_size, n_embd], tied");
      for (std::size_t i = 0; i < head.size(); ++i) {
        if (head[i] != w.wte[i]) {
          bad("tensor " + in_quotes(name) + " differs from " +
              in_quotes(r.prefix() + "wte.weight") + " at element " + std::to_string(i) +
              ": untied LM heads are not supported");
        }
      }
      continue;
    }
    if (is_attention_buffer(std::string_view(name).substr(r.prefix().size()), config.n_layer)) {
      continue;
    }
    bad("unexpected tensor " + in_quotes(name));
  }
  return w;
}

Gpt2Weights load_gpt2(const std::filesystem::path& dir) {
  const Gpt2Config config = read_gpt2_config(dir / "config.json");
  const std::filesystem::path file = dir / "model.safetensors";
  const SafeTensors st = read_safetensors(file);
  try {
    return load_gpt2(config, st);
  } catch (const Error& e) {
    throw Error(e.code(), file.string() + ": " + e.what());
  }
}

void validate(const Gpt2Weights& w) {
  const Gpt2Config& c = w.config;
  c.validate();
  const std::size_t d = c.n_embd;
  check_size(w.wte, c.vocab_size * d, "wte");
  check_size(w.wpe, c.n_positions * d, "wpe");
  check_size(w.lnf_g, d, "ln_f weight");
  check_size(w.lnf_b, d, "ln_f bias");
  check_size(w.layers, c.n_layer, "layers");
  for (std::size_t n = 0; n < w.layers.size(); ++n) {
    const Gpt2Block& b = w.layers[n];
    const std::string l = "layer " + std::to_string(n) + " ";
    check_size(b.ln1_g, d, l + "ln1_g");
    check_size(b.ln1_b, d, l + "ln1_b");
    check_size(b.ln2_g, d, l + "ln2_g");
    check_size(b.ln2_b, d, l + "ln2_b");
    check_block_sizes(b, d, l);
  }
}

std::vector<double> gpt2_float_forward(const Gpt2Weights& w,
                                       std::span<const std::uint32_t> tokens) {
  validate(w);
  ModelRef m{&w.config,
             w.wte,
             w.wpe,
             {},
             w.lnf_g,
             w.lnf_b,
             1.0 / std::sqrt(static_cast<double>(w.config.d_head())),
             {},
             {}};
  for (const Gpt2Block& b : w.layers) {
    m.blocks.push_back({b.ln1_g, b.ln1_b, b.attn_w, b.attn_b, b.proj_w, b.proj_b, b.ln2_g, b.ln2_b,
                        b.fc_w, b.fc_b, b.out_w, b.out_b});
  }
  return forward(m, tokens);
}

std::vector<double> gpt2_float_forward_folded(const Gpt2Folded& f,
                                              std::span<const std::uint32_t> tokens) {
  validate_folded(f);
  ModelRef m{&f.config, f.wte, f.wpe, {}, {}, {}, 1.0, f.head_w, f.head_b};
  for (const auto& b : f.layers) {
    m.blocks.push_back(
        {{}, {}, b.attn_w, b.attn_b, b.proj_w, b.proj_b, {}, {}, b.fc_w, b.fc_b, b.out_w, b.out_b});
  }
  return forward(m, tokens);
}

Gpt2Folded fold_gpt2(const Gpt2Weights& w) {
  validate(w);
  const Gpt2Config& c = w.config;
  const std::size_t d = c.n_embd;
  const std::size_t V = c.vocab_size;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.d_head()));
  Gpt2Folded f;
  f.config = c;
  f.wte = w.wte;
  f.wpe = w.wpe;
  for (const Gpt2Block& b : w.layers) {
    Gpt2FoldedBlock<double> fb;
    fold_affine(b.ln1_g, b.ln1_b, b.attn_w, b.attn_b, fb.attn_w, fb.attn_b);
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) fb.attn_w[i * 3 * d + j] *= scale;
    }
    for (std::size_t j = 0; j < d; ++j) fb.attn_b[j] *= scale;
    fb.proj_w = b.proj_w;
    fb.proj_b = b.proj_b;
    fold_affine(b.ln2_g, b.ln2_b, b.fc_w, b.fc_b, fb.fc_w, fb.fc_b);
    fb.out_w = b.out_w;
    fb.out_b = b.out_b;
    f.layers.push_back(std::move(fb));
  }
  f.head_w.assign(d * V, 0.0);
  f.head_b.assign(V, 0.0);
  for (std::size_t v = 0; v < V; ++v) {
    for (std::size_t i = 0; i < d; ++i) {
      f.head_w[i * V + v] = w.lnf_g[i] * w.wte[v * d + i];
      f.head_b[v] += w.lnf_b[i] * w.wte[v * d + i];
    }
  }
  return f;
}

Gpt2FixedWeights encode_gpt2(const Gpt2Folded& f, int frac_bits) {
  validate_folded(f);
  if (frac_bits < 1 || frac_bits > FixedPoint::kMaxFracBits) {
    bad("frac_bits " + std::to_string(frac_bits) + " outside [1, " +
        std::to_string(FixedPoint::kMaxFracBits) + "]");
  }
  const FixedPoint fp(frac_bits);
  Gpt2FixedWeights e;
  e.config = f.config;
  e.frac_bits = frac_bits;
  e.wte = encode_all(fp, f.wte, "wte");
  e.wpe = encode_all(fp, f.wpe, "wpe");
  for (std::size_t n = 0; n < f.layers.size(); ++n) {
    const Gpt2FoldedBlock<double>& b = f.layers[n];
    const std::string l = "layer " + std::to_string(n) + " ";
    e.layers.push_back(
        {encode_all(fp, b.attn_w, l + "attn_w"), encode_all(fp, b.attn_b, l + "attn_b"),
         encode_all(fp, b.proj_w, l + "proj_w"), encode_all(fp, b.proj_b, l + "proj_b"),
         encode_all(fp, b.fc_w, l + "fc_w"), encode_all(fp, b.fc_b, l + "fc_b"),
         encode_all(fp, b.out_w, l + "out_w"), encode_all(fp, b.out_b, l + "out_b")});
  }
  e.head_w = encode_all(fp, f.head_w, "head_w");
  e.head_b = encode_all(fp, f.head_b, "head_b");
  return e;
}

// -----------------------------------------------------------------------------------------------

void Gpt2Shape::validate() const {
  config.validate();
  if (frac_bits < 1 || frac_bits > FixedPoint::kMaxFracBits) {
    bad("shape: frac_bits " + std::to_string(frac_bits) + " outside [1, " +
        std::to_string(FixedPoint::kMaxFracBits) + "]");
  }
}

Gpt2Shape Gpt2Shape::of(const Gpt2FixedWeights& w) {
  validate_folded(w);
  Gpt2Shape s{w.config, w.frac_bits};
  s.validate();
  return s;
}

json Gpt2Shape::to_json() const {
  return {{"n_layer", config.n_layer},       {"n_head", config.n_head},
          {"n_embd", config.n_embd},         {"n_positions", config.n_positions},
          {"vocab_size", config.vocab_size}, {"layer_norm_epsilon", config.layer_norm_epsilon},
          {"frac_bits", frac_bits}};
}

Gpt2Shape Gpt2Shape::from_json(const json& j) {
  const std::string where = "shape";
  if (!j.is_object()) bad("shape is not a JSON object");
  static constexpr std::string_view kKeys[] = {"n_layer",     "n_head",     "n_embd",
                                               "n_positions", "vocab_size", "layer_norm_epsilon",
                                               "frac_bits"};
  for (const auto& item : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), item.key()) == std::end(kKeys)) {
      bad("shape: unknown key " + in_quotes(item.key()));
    }
  }
  for (std::string_view k : kKeys) {
    if (!j.contains(k)) bad("shape: missing key " + in_quotes(k));
  }
  const auto count = [&](const char* key) { return json_count(j.at(key), key, where); };
  Gpt2Shape s;
  s.config.n_layer = count("n_layer");
  s.config.n_head = count("n_head");
  s.config.n_embd = count("n_embd");
  s.config.n_positions = count("n_positions");
  s.config.vocab_size = count("vocab_size");
  s.config.layer_norm_epsilon = json_real(j.at("layer_norm_epsilon"), "layer_norm_epsilon", where);
  const std::size_t f = count("frac_bits");
  if (f > static_cast<std::size_t>(FixedPoint::kMaxFracBits)) {
    bad("shape: \"frac_bits\" = " + std::to_string(f) + " above " +
        std::to_string(FixedPoint::kMaxFracBits));
  }
  s.frac_bits = static_cast<int>(f);
  s.validate();
  return s;
}

}  // namespace ppi::model
