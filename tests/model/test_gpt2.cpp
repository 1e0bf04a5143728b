#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "expect_error.hpp"
#include "model/gpt2.hpp"
#include "model/safetensors.hpp"
#include "ring/fixed_point.hpp"

using namespace ppi;
using namespace ppi::model;
using nlohmann::json;

namespace {

Gpt2Config small_config() {
  return {.n_layer = 2, .n_head = 2, .n_embd = 16, .n_positions = 12, .vocab_size = 50};
}

// Random weights that are multiples of 1/64 below 1 in magnitude (LayerNorm gains near 1), so
// that F16 and BF16 hold them exactly and every dtype loads the same model.
Gpt2Weights random_model(const Gpt2Config& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> k(-40, 40);
  const auto fill = [&](std::size_t n, double offset = 0.0) {
    SecretVector<double> v(n);
    for (double& x : v) x = offset + k(rng) / 64.0;
    return v;
  };
  const std::size_t d = c.n_embd;
  Gpt2Weights w;
  w.config = c;
  w.wte = fill(c.vocab_size * d);
  w.wpe = fill(c.n_positions * d);
  for (std::size_t n = 0; n < c.n_layer; ++n) {
    Gpt2Block b;
    b.ln1_g = fill(d, 1.0);
    b.ln1_b = fill(d);
    b.attn_w = fill(d * 3 * d);
    b.attn_b = fill(3 * d);
    b.proj_w = fill(d * d);
    b.proj_b = fill(d);
    b.ln2_g = fill(d, 1.0);
    b.ln2_b = fill(d);
    b.fc_w = fill(d * 4 * d);
    b.fc_b = fill(4 * d);
    b.out_w = fill(4 * d * d);
    b.out_b = fill(d);
    w.layers.push_back(std::move(b));
  }
  w.lnf_g = fill(d, 1.0);
  w.lnf_b = fill(d);
  return w;
}

// The file as transformers writes it, with this test's own list of names.
SafeTensors to_file(const Gpt2Weights& w, DType dtype, const std::string& prefix) {
  SafeTensors st;
  const std::uint64_t d = w.config.n_embd;
  const auto put = [&](const std::string& name, std::vector<std::uint64_t> shape,
                       const SecretVector<double>& v) {
    st.tensors.emplace(prefix + name, Tensor::from_doubles(dtype, std::move(shape), v));
  };
  put("wte.weight", {w.config.vocab_size, d}, w.wte);
  put("wpe.weight", {w.config.n_positions, d}, w.wpe);
  for (std::size_t n = 0; n < w.layers.size(); ++n) {
    const Gpt2Block& b = w.layers[n];
    const std::string h = "h." + std::to_string(n) + ".";
    put(h + "ln_1.weight", {d}, b.ln1_g);
    put(h + "ln_1.bias", {d}, b.ln1_b);
    put(h + "attn.c_attn.weight", {d, 3 * d}, b.attn_w);
    put(h + "attn.c_attn.bias", {3 * d}, b.attn_b);
    put(h + "attn.c_proj.weight", {d, d}, b.proj_w);
    put(h + "attn.c_proj.bias", {d}, b.proj_b);
    put(h + "ln_2.weight", {d}, b.ln2_g);
    put(h + "ln_2.bias", {d}, b.ln2_b);
    put(h + "mlp.c_fc.weight", {d, 4 * d}, b.fc_w);
    put(h + "mlp.c_fc.bias", {4 * d}, b.fc_b);
    put(h + "mlp.c_proj.weight", {4 * d, d}, b.out_w);
    put(h + "mlp.c_proj.bias", {d}, b.out_b);
  }
  put("ln_f.weight", {d}, w.lnf_g);
  put("ln_f.bias", {d}, w.lnf_b);
  return st;
}

// A config.json as transformers writes it, extra keys included.
json hf_config(const Gpt2Config& c) {
  return {{"activation_function", "gelu_new"},
          {"architectures", {"GPT2LMHeadModel"}},
          {"attn_pdrop", 0.1},
          {"model_type", "gpt2"},
          {"n_ctx", c.n_positions},
          {"n_embd", c.n_embd},
          {"n_head", c.n_head},
          {"n_inner", nullptr},
          {"n_layer", c.n_layer},
          {"n_positions", c.n_positions},
          {"layer_norm_epsilon", c.layer_norm_epsilon},
          {"scale_attn_weights", true},
          {"task_specific_params", {{"text-generation", {{"do_sample", true}}}}},
          {"vocab_size", c.vocab_size}};
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("ppi_gpt2_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

void write_bytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Gpt2Weights load_dir(const json& config, const SafeTensors& st) {
  TempDir dir;
  write_text(dir.path() / "config.json", config.dump(2));
  write_safetensors(dir.path() / "model.safetensors", st);
  return load_gpt2(dir.path());
}

void expect_refused(const SafeTensors& st, const std::string& needle) {
  expect_invalid_argument([&] { (void)load_dir(hf_config(small_config()), st); }, needle);
}

void expect_config_refused(const json& config, const std::string& needle) {
  expect_invalid_argument([&] { (void)parse_gpt2_config(config); }, needle);
}

// The file image with the first F32 dtype in its header (the tensor first in name order)
// renamed, so that the reader meets a dtype the writer cannot produce.
Bytes with_first_dtype(const SafeTensors& st, const std::string& dtype) {
  const Bytes file = serialize_safetensors(st);
  const std::uint64_t n = load_u64_le(file.data());
  std::string header(reinterpret_cast<const char*>(file.data() + 8), n);
  header.replace(header.find("\"F32\""), 5, "\"" + dtype + "\"");
  return frame_safetensors(header, ByteView(file.data() + 8 + n, file.size() - 8 - n));
}

void check_same_weights(const Gpt2Weights& a, const Gpt2Weights& b) {
  CHECK(a.config == b.config);
  CHECK(a.wte == b.wte);
  CHECK(a.wpe == b.wpe);
  CHECK(a.lnf_g == b.lnf_g);
  CHECK(a.lnf_b == b.lnf_b);
  REQUIRE(a.layers.size() == b.layers.size());
  for (std::size_t n = 0; n < a.layers.size(); ++n) {
    const Gpt2Block& x = a.layers[n];
    const Gpt2Block& y = b.layers[n];
    CHECK((x.ln1_g == y.ln1_g && x.ln1_b == y.ln1_b && x.ln2_g == y.ln2_g && x.ln2_b == y.ln2_b));
    CHECK((x.attn_w == y.attn_w && x.attn_b == y.attn_b && x.proj_w == y.proj_w &&
           x.proj_b == y.proj_b));
    CHECK((x.fc_w == y.fc_w && x.fc_b == y.fc_b && x.out_w == y.out_w && x.out_b == y.out_b));
  }
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(b[i])));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// An independent float GPT-2, written as the formulas read (matrices as vectors of rows, one
// head at a time with an explicit mask), to check gpt2_float_forward against.

using Mat = std::vector<std::vector<double>>;

Mat matrix(const SecretVector<double>& v, std::size_t rows, std::size_t cols) {
  Mat m(rows, std::vector<double>(cols));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m[r][c] = v[r * cols + c];
  return m;
}

Mat linear(const Mat& x, const Mat& w, const SecretVector<double>& b) {
  Mat y(x.size(), std::vector<double>(b.begin(), b.end()));
  for (std::size_t r = 0; r < x.size(); ++r)
    for (std::size_t c = 0; c < b.size(); ++c)
      for (std::size_t i = 0; i < w.size(); ++i) y[r][c] += x[r][i] * w[i][c];
  return y;
}

Mat norm(const Mat& x, const SecretVector<double>& g, const SecretVector<double>& b, double eps) {
  Mat y = x;
  for (auto& row : y) {
    const double n = static_cast<double>(row.size());
    double mean = 0, sq = 0;
    for (double v : row) mean += v / n;
    for (double v : row) sq += (v - mean) * (v - mean) / n;
    for (std::size_t i = 0; i < row.size(); ++i)
      row[i] = g[i] * (row[i] - mean) / std::sqrt(sq + eps) + b[i];
  }
  return y;
}

std::vector<double> naive_gpt2(const Gpt2Weights& w, const std::vector<std::uint32_t>& tokens) {
  const Gpt2Config& c = w.config;
  const std::size_t d = c.n_embd, T = tokens.size(), dh = d / c.n_head;
  Mat x(T, std::vector<double>(d));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < d; ++i) x[t][i] = w.wte[tokens[t] * d + i] + w.wpe[t * d + i];
  for (const Gpt2Block& b : w.layers) {
    const Mat qkv = linear(norm(x, b.ln1_g, b.ln1_b, c.layer_norm_epsilon),
                           matrix(b.attn_w, d, 3 * d), b.attn_b);
    Mat merged(T, std::vector<double>(d, 0.0));
    for (std::size_t h = 0; h < c.n_head; ++h) {
      Mat scores(T, std::vector<double>(T));
      for (std::size_t t = 0; t < T; ++t) {
        for (std::size_t u = 0; u < T; ++u) {
          double s = 0;
          for (std::size_t i = 0; i < dh; ++i) s += qkv[t][h * dh + i] * qkv[u][d + h * dh + i];
          scores[t][u] = u <= t ? s / std::sqrt(static_cast<double>(dh))
                                : -std::numeric_limits<double>::infinity();
        }
        const double top = *std::max_element(scores[t].begin(), scores[t].end());
        double z = 0;
        for (double& s : scores[t]) z += (s = std::exp(s - top));
        for (double& s : scores[t]) s /= z;
        for (std::size_t u = 0; u < T; ++u)
          for (std::size_t i = 0; i < dh; ++i)
            merged[t][h * dh + i] += scores[t][u] * qkv[u][2 * d + h * dh + i];
      }
    }
    const Mat a = linear(merged, matrix(b.proj_w, d, d), b.proj_b);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < d; ++i) x[t][i] += a[t][i];
    Mat f =
        linear(norm(x, b.ln2_g, b.ln2_b, c.layer_norm_epsilon), matrix(b.fc_w, d, 4 * d), b.fc_b);
    for (auto& row : f) {
      for (double& v : row) {
        v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
      }
    }
    const Mat o = linear(f, matrix(b.out_w, 4 * d, d), b.out_b);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < d; ++i) x[t][i] += o[t][i];
  }
  const Mat y = norm(x, w.lnf_g, w.lnf_b, c.layer_norm_epsilon);
  std::vector<double> logits;
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t v = 0; v < c.vocab_size; ++v) {
      double s = 0;
      for (std::size_t i = 0; i < d; ++i) s += y[t][i] * w.wte[v * d + i];
      logits.push_back(s);
    }
  }
  return logits;
}

}  // namespace

TEST_CASE("gpt2: a Hugging Face directory loads with and without the prefix, F32, F16, BF16") {
  const Gpt2Weights w = random_model(small_config(), 1);
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    for (const std::string prefix : {"", "transformer."}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(prefix);
      SafeTensors st = to_file(w, dtype, prefix);
      check_same_weights(load_dir(hf_config(w.config), st), w);

      // What real checkpoints also carry: the attention mask buffers and a tied head.
      const std::size_t P = w.config.n_positions;
      for (const char* layer : {"h.0.", "h.1."}) {
        st.tensors.emplace(
            prefix + layer + "attn.bias",
            Tensor::from_doubles(DType::F32, {1, 1, P, P}, std::vector<double>(P * P, 1.0)));
        st.tensors.emplace(prefix + layer + "attn.masked_bias",
                           Tensor::from_doubles(DType::F32, {}, std::vector<double>{-1e4}));
      }
      st.tensors.emplace("lm_head.weight", st.tensors.at(prefix + "wte.weight"));
      check_same_weights(load_dir(hf_config(w.config), st), w);
    }
  }
  // F64 is accepted too (the exact form for scripts).
  check_same_weights(load_dir(hf_config(w.config), to_file(w, DType::F64, "")), w);
}

TEST_CASE("gpt2: config.json is read as transformers writes it, and refused naming the key") {
  const Gpt2Config c = small_config();
  CHECK(parse_gpt2_config(hf_config(c)) == c);

  json j = hf_config(c);
  j.erase("n_positions");
  j.erase("layer_norm_epsilon");
  j.erase("activation_function");
  j["n_ctx"] = 7;
  const Gpt2Config old = parse_gpt2_config(j);
  CHECK(old.n_positions == 7);
  CHECK(old.layer_norm_epsilon == 1e-5);  // the transformers default
  j["activation_function"] = "gelu_pytorch_tanh";
  CHECK(parse_gpt2_config(j).n_positions == 7);
  j["n_positions"] = 9;  // n_positions wins over n_ctx, as in transformers
  CHECK(parse_gpt2_config(j).n_positions == 9);

  const auto with = [&](const char* key, json value) {
    json k = hf_config(c);
    k[key] = std::move(value);
    return k;
  };
  const auto without = [&](std::initializer_list<const char*> keys) {
    json k = hf_config(c);
    for (const char* key : keys) k.erase(key);
    return k;
  };
  expect_config_refused(without({"n_head"}), "missing key \"n_head\"");
  expect_config_refused(without({"vocab_size"}), "missing key \"vocab_size\"");
  expect_config_refused(without({"n_positions", "n_ctx"}), "missing key \"n_positions\"");
  expect_config_refused(with("activation_function", "gelu"), "\"activation_function\" is \"gelu\"");
  expect_config_refused(with("activation_function", "relu"), "only the tanh GELU");
  expect_config_refused(with("n_head", 3), "\"n_embd\" = 16 is not a multiple of \"n_head\" = 3");
  expect_config_refused(with("n_layer", 0), "\"n_layer\" = 0 is not in 1..128");
  expect_config_refused(with("n_embd", 16384), "\"n_embd\" = 16384 is not in 1..8192");
  expect_config_refused(with("vocab_size", (1 << 20) + 1), "\"vocab_size\" = 1048577");
  expect_config_refused(with("n_head", 32), "\"n_head\" = 32 is not in 1..16");
  expect_config_refused(with("n_layer", "2"), "\"n_layer\" is not a non-negative integer");
  expect_config_refused(with("n_embd", 16.0), "\"n_embd\" is not a non-negative integer");
  expect_config_refused(with("n_positions", -1), "\"n_positions\" is not a non-negative integer");
  expect_config_refused(with("layer_norm_epsilon", "1e-5"), "\"layer_norm_epsilon\" is not a");
  expect_config_refused(with("layer_norm_epsilon", 0.0), "\"layer_norm_epsilon\" = 0");
  expect_config_refused(with("n_inner", 10), "\"n_inner\" is 10");
  expect_config_refused(with("model_type", "gpt_neo"), "\"model_type\" is \"gpt_neo\"");
  expect_config_refused(with("scale_attn_weights", false), "\"scale_attn_weights\" must be true");
  expect_config_refused(with("scale_attn_by_inverse_layer_idx", true),
                        "\"scale_attn_by_inverse_layer_idx\" must be false");
  expect_config_refused(with("add_cross_attention", true), "\"add_cross_attention\"");
  expect_config_refused(with("tie_word_embeddings", false), "\"tie_word_embeddings\"");
  expect_config_refused(json::array({1, 2}), "not a JSON object");
  CHECK(parse_gpt2_config(with("n_inner", 64)).n_embd == 16);  // 4 n_embd, said explicitly

  TempDir dir;
  write_text(dir.path() / "config.json", "{\"n_layer\": 2,");
  expect_invalid_argument([&] { (void)read_gpt2_config(dir.path() / "config.json"); },
                          "config.json is not valid JSON");
  write_text(dir.path() / "config.json", with("n_head", 5).dump());
  expect_invalid_argument([&] { (void)load_gpt2(dir.path()); }, "config.json: gpt2: config");
}

TEST_CASE("gpt2: missing files are not_found naming the path") {
  TempDir dir;
  const auto expect_not_found = [&](const std::string& needle) {
    try {
      (void)load_gpt2(dir.path());
      FAIL("loaded");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::not_found);
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  expect_not_found((dir.path() / "config.json").string());
  write_text(dir.path() / "config.json", hf_config(small_config()).dump());
  expect_not_found((dir.path() / "model.safetensors").string());
}

TEST_CASE("gpt2: malformed tensors are refused with the tensor and the problem named") {
  const Gpt2Weights w = random_model(small_config(), 2);
  const SafeTensors base = to_file(w, DType::F32, "");
  const auto edited = [&](auto&& edit, const SafeTensors& from) {
    SafeTensors st = from;
    edit(st);
    return st;
  };
  const auto f32 = [](std::vector<std::uint64_t> shape) {
    std::size_t n = 1;
    for (std::uint64_t d : shape) n *= d;
    return Tensor::from_doubles(DType::F32, std::move(shape), std::vector<double>(n, 0.0));
  };
  const auto reshaped = [&](const std::string& name, std::vector<std::uint64_t> shape) {
    SafeTensors st = base;
    st.tensors.at(name) = f32(std::move(shape));
    return st;
  };

  expect_refused(edited([](SafeTensors& st) { st.tensors.erase("h.1.mlp.c_fc.bias"); }, base),
                 "missing tensor \"h.1.mlp.c_fc.bias\"");
  const SafeTensors prefixed = to_file(w, DType::BF16, "transformer.");
  expect_refused(
      edited([](SafeTensors& st) { st.tensors.erase("transformer.ln_f.bias"); }, prefixed),
      "missing tensor \"transformer.ln_f.bias\"");
  expect_refused(reshaped("h.0.attn.c_attn.weight", {48, 16}),
                 "tensor \"h.0.attn.c_attn.weight\": shape [48, 16] does not match the config, "
                 "expected [16, 48] ([n_embd, 3 n_embd])");
  expect_refused(reshaped("wte.weight", {49, 16}),
                 "tensor \"wte.weight\": shape [49, 16] does not match the config, expected [50, "
                 "16] ([vocab_size, n_embd])");
  expect_refused(reshaped("h.1.ln_2.weight", {1, 16}), "tensor \"h.1.ln_2.weight\": shape [1, 16]");
  expect_refused(edited(
                     [](SafeTensors& st) {
                       st.tensors.at("h.0.ln_1.bias") =
                           Tensor::from_int64s(DType::I32, {16}, std::vector<std::int64_t>(16, 0));
                     },
                     base),
                 "tensor \"h.0.ln_1.bias\": dtype I32 is not a float dtype");

  // Dtypes the reader does not know, or knows and does not support.
  TempDir dir;
  write_text(dir.path() / "config.json", hf_config(w.config).dump());
  for (const auto& [dtype, problem] :
       {std::pair{"F17", "unknown dtype \"F17\""}, std::pair{"U8", "unsupported dtype \"U8\""}}) {
    write_bytes(dir.path() / "model.safetensors", with_first_dtype(base, dtype));
    expect_invalid_argument([&] { (void)load_gpt2(dir.path()); },
                            "tensor \"h.0.attn.c_attn.bias\": " + std::string(problem));
  }

  expect_refused(edited(
                     [](SafeTensors& st) {
                       auto node = st.tensors.extract("wpe.weight");
                       node.key() = "transformer.wpe.weight";
                       st.tensors.insert(std::move(node));
                     },
                     base),
                 "tensor names mix the \"transformer.\" prefix (\"transformer.wpe.weight\") and no "
                 "prefix (\"wte.weight\")");

  const auto untied = [&](SafeTensors& st) {
    SecretVector<double> head = w.wte;
    head[7] += 1.0 / 64;
    st.tensors.emplace("lm_head.weight", Tensor::from_doubles(DType::F32, {50, 16}, head));
  };
  expect_refused(edited(untied, base),
                 "tensor \"lm_head.weight\" differs from \"wte.weight\" at element 7: untied LM "
                 "heads are not supported");
  expect_refused(edited(untied, prefixed), "differs from \"transformer.wte.weight\"");
  expect_refused(
      edited(
          [&](SafeTensors& st) {
            st.tensors.emplace("lm_head.weight", f32({16, 50}));
          },
          base),
      "tensor \"lm_head.weight\": shape [16, 50] does not match the config, expected [50, 16]");

  const auto poisoned = [&](const std::string& name, std::size_t i, double v, DType dtype) {
    SafeTensors st = to_file(w, dtype, "");
    SecretVector<double> values = st.tensors.at(name).to_doubles();
    values[i] = v;
    st.tensors.at(name) = Tensor::from_doubles(dtype, st.tensors.at(name).shape, values);
    return st;
  };
  expect_refused(
      poisoned("h.0.attn.c_proj.weight", 5, std::numeric_limits<double>::quiet_NaN(), DType::F32),
      "tensor \"h.0.attn.c_proj.weight\": element 5 is NaN (weights must be finite)");
  expect_refused(
      poisoned("h.1.ln_2.bias", 0, -std::numeric_limits<double>::infinity(), DType::BF16),
      "tensor \"h.1.ln_2.bias\": element 0 is -inf");
  // 1e5 is past F16's largest finite value: the writer rounds it to inf, the loader refuses.
  expect_refused(poisoned("wpe.weight", 3, 1e5, DType::F16),
                 "tensor \"wpe.weight\": element 3 is inf");

  for (const char* extra : {"h.0.attn.c_attn.extra", "h.2.attn.bias", "h.00.attn.bias",
                            "h.1.attn.masked_bias.x", "lm_head.bias", "score.weight"}) {
    expect_refused(edited([&](SafeTensors& st) { st.tensors.emplace(extra, f32({1})); }, base),
                   "unexpected tensor \"" + std::string(extra) + "\"");
  }

  json three_layers = hf_config(w.config);
  three_layers["n_layer"] = 3;
  expect_invalid_argument([&] { (void)load_dir(three_layers, base); },
                          "missing tensor \"h.2.ln_1.weight\"");
}

TEST_CASE("gpt2: the float forward pass matches an independent implementation") {
  const Gpt2Weights w = random_model(small_config(), 3);
  const std::vector<std::uint32_t> tokens = {3, 7, 1, 49, 0, 5, 22, 8, 8, 13, 2, 40};
  const std::vector<double> logits = gpt2_float_forward(w, tokens);
  CHECK(logits.size() == tokens.size() * 50);
  CHECK(max_rel_diff(logits, naive_gpt2(w, tokens)) < 1e-12);
  const std::vector<std::uint32_t> one = {17};
  CHECK(max_rel_diff(gpt2_float_forward(w, one), naive_gpt2(w, {17})) < 1e-12);
}

TEST_CASE("gpt2: attention is causal") {
  const Gpt2Weights w = random_model(small_config(), 4);
  const std::vector<std::uint32_t> a = {3, 7, 1, 49, 0, 5, 22, 8};
  std::vector<std::uint32_t> b = a;
  b[4] = 11;
  b[6] = 30;
  const std::vector<double> la = gpt2_float_forward(w, a);
  const std::vector<double> lb = gpt2_float_forward(w, b);
  const std::size_t V = w.config.vocab_size;
  for (std::size_t i = 0; i < 4 * V; ++i) CHECK(la[i] == lb[i]);
  bool later_changed = false;
  for (std::size_t i = 4 * V; i < la.size(); ++i) later_changed = later_changed || la[i] != lb[i];
  CHECK(later_changed);
  // A prefix alone gives the same rows as well.
  const std::vector<double> prefix = gpt2_float_forward(w, std::span(a).first(3));
  for (std::size_t i = 0; i < 3 * V; ++i) CHECK(prefix[i] == la[i]);
}

TEST_CASE("gpt2: a one-layer model worked out by hand") {
  // d = 2, one head. Attention: q and k are constants, v = (1, -1) at every position, so every
  // position's attention output is (1, -1) whatever the softmax; c_proj is the identity. MLP:
  // every hidden unit is GELU(1), and c_proj sums the 8 halves into the first coordinate.
  // Final LayerNorm of (a, b) is (s, -s) with s = delta / sqrt(delta^2 + eps), delta = (a-b)/2.
  Gpt2Weights w;
  w.config = {.n_layer = 1, .n_head = 1, .n_embd = 2, .n_positions = 2, .vocab_size = 2};
  w.wte = {1, 0, 0, 2};
  w.wpe = {0, 0, 0, 0};
  Gpt2Block b;
  b.ln1_g = b.ln2_g = {1, 1};
  b.ln1_b = b.ln2_b = {0, 0};
  b.attn_w.assign(12, 0.0);
  b.attn_b = {0.3, -0.2, 0.5, 0.1, 1, -1};
  b.proj_w = {1, 0, 0, 1};
  b.proj_b = {0, 0};
  b.fc_w.assign(16, 0.0);
  b.fc_b.assign(8, 1.0);
  b.out_w = {0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0};
  b.out_b = {0, 0};
  w.layers.push_back(b);
  w.lnf_g = {1, 1};
  w.lnf_b = {0, 0};

  const double gelu1 = 0.8411919906082768;  // 0.5 (1 + tanh(sqrt(2/pi) 1.044715))
  const auto s = [&](double a, double bb) {
    const double delta = (a - bb) / 2;
    return delta / std::sqrt(delta * delta + 1e-5);
  };
  // Token 0 at position 0: x = (1, 0) + (1, -1) + (4 GELU(1), 0); token 1 at position 1:
  // x = (0, 2) + (1, -1) + (4 GELU(1), 0). Logits (s, -s) wte^T = (s, -2 s).
  const double s0 = s(2 + 4 * gelu1, -1);
  const double s1 = s(1 + 4 * gelu1, 1);
  const std::vector<std::uint32_t> tokens = {0, 1};
  const std::vector<double> logits = gpt2_float_forward(w, tokens);
  REQUIRE(logits.size() == 4);
  CHECK(logits[0] == doctest::Approx(s0).epsilon(1e-14));
  CHECK(logits[1] == doctest::Approx(-2 * s0).epsilon(1e-14));
  CHECK(logits[2] == doctest::Approx(s1).epsilon(1e-14));
  CHECK(logits[3] == doctest::Approx(-2 * s1).epsilon(1e-14));
  CHECK(s0 < 1);  // epsilon is inside the square root
}

TEST_CASE("gpt2: token and length errors") {
  const Gpt2Weights w = random_model(small_config(), 5);
  const Gpt2Folded f = fold_gpt2(w);
  for (const auto& [tokens, needle] :
       {std::pair{std::vector<std::uint32_t>{1, 50}, "token 1 is 50, not below vocab_size = 50"},
        std::pair{std::vector<std::uint32_t>(13, 0), "13 tokens, more than n_positions = 12"},
        std::pair{std::vector<std::uint32_t>{}, "no tokens"}}) {
    expect_invalid_argument([&] { (void)gpt2_float_forward(w, tokens); }, needle);
    expect_invalid_argument([&] { (void)gpt2_float_forward_folded(f, tokens); }, needle);
  }
  CHECK(gpt2_float_forward(w, std::vector<std::uint32_t>(12, 49)).size() == 12 * 50);

  Gpt2Weights broken = w;
  broken.layers[1].fc_b.pop_back();
  expect_invalid_argument([&] { (void)gpt2_float_forward(broken, std::vector<std::uint32_t>{1}); },
                          "layer 1 fc_b has 63 values, the config needs 64");
  expect_invalid_argument([&] { (void)fold_gpt2(broken); }, "layer 1 fc_b");
}

TEST_CASE("gpt2: folding LayerNorm affines and the attention scale keeps the logits") {
  // Larger LayerNorm gains and offsets than the file tests, so that a folding mistake shows.
  Gpt2Weights w = random_model(small_config(), 6);
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  for (Gpt2Block& b : w.layers) {
    for (auto* v : {&b.ln1_g, &b.ln1_b, &b.ln2_g, &b.ln2_b})
      for (double& x : *v) x = u(rng);
  }
  for (double& x : w.lnf_g) x = u(rng);
  for (double& x : w.lnf_b) x = u(rng);

  const Gpt2Folded f = fold_gpt2(w);
  const std::vector<std::uint32_t> tokens = {4, 9, 9, 31, 0, 49, 12, 7, 3, 3, 18};
  CHECK(max_rel_diff(gpt2_float_forward_folded(f, tokens), gpt2_float_forward(w, tokens)) < 1e-9);

  // The folded values themselves, on a few entries.
  const std::size_t d = 16, V = 50;
  const Gpt2Block& b = w.layers[1];
  const double scale = 1 / std::sqrt(8.0);
  CHECK(f.layers[1].attn_w[3 * 48 + 5] ==
        doctest::Approx(b.ln1_g[3] * b.attn_w[3 * 48 + 5] * scale));
  CHECK(f.layers[1].attn_w[3 * 48 + 20] == b.ln1_g[3] * b.attn_w[3 * 48 + 20]);  // a k column
  CHECK(f.layers[1].attn_w[3 * 48 + 40] == b.ln1_g[3] * b.attn_w[3 * 48 + 40]);  // a v column
  double q_bias = b.attn_b[2], v_bias = b.attn_b[40];
  for (std::size_t i = 0; i < d; ++i) {
    q_bias += b.ln1_b[i] * b.attn_w[i * 48 + 2];
    v_bias += b.ln1_b[i] * b.attn_w[i * 48 + 40];
  }
  CHECK(f.layers[1].attn_b[2] == doctest::Approx(q_bias * scale).epsilon(1e-13));
  CHECK(f.layers[1].attn_b[40] == doctest::Approx(v_bias).epsilon(1e-13));
  CHECK(f.layers[1].fc_w[7 * 64 + 63] == b.ln2_g[7] * b.fc_w[7 * 64 + 63]);
  CHECK(f.layers[1].proj_w == b.proj_w);
  CHECK(f.layers[1].out_b == b.out_b);
  CHECK(f.wte == w.wte);
  CHECK(f.wpe == w.wpe);
  REQUIRE(f.head_w.size() == d * V);
  CHECK(f.head_w[5 * V + 33] == w.lnf_g[5] * w.wte[33 * d + 5]);
  double head_b = 0;
  for (std::size_t i = 0; i < d; ++i) head_b += w.lnf_b[i] * w.wte[33 * d + i];
  CHECK(f.head_b[33] == doctest::Approx(head_b).epsilon(1e-13));
}

TEST_CASE("gpt2: fixed-point weights are the encodings of the folded ones") {
  const Gpt2Folded f = fold_gpt2(random_model(small_config(), 7));
  const Gpt2FixedWeights e = encode_gpt2(f, 16);
  CHECK(e.frac_bits == 16);
  CHECK(e.config == f.config);
  const FixedPoint fp(16);
  const auto encodes = [&](const SecretVector<u64>& got, const SecretVector<double>& v) {
    if (got.size() != v.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (got[i] != fp.encode(v[i])) return false;
    return true;
  };
  CHECK(encodes(e.wte, f.wte));
  CHECK(encodes(e.wpe, f.wpe));
  CHECK(encodes(e.head_w, f.head_w));
  CHECK(encodes(e.head_b, f.head_b));
  REQUIRE(e.layers.size() == 2);
  for (std::size_t n = 0; n < 2; ++n) {
    const auto& x = e.layers[n];
    const auto& y = f.layers[n];
    CHECK(encodes(x.attn_w, y.attn_w));
    CHECK(encodes(x.attn_b, y.attn_b));
    CHECK(encodes(x.proj_w, y.proj_w));
    CHECK(encodes(x.proj_b, y.proj_b));
    CHECK(encodes(x.fc_w, y.fc_w));
    CHECK(encodes(x.fc_b, y.fc_b));
    CHECK(encodes(x.out_w, y.out_w));
    CHECK(encodes(x.out_b, y.out_b));
  }
  CHECK(e.wte[1] == fp.encode(f.wte[1]));
  // Negative values are two's complement.
  const auto neg = std::find_if(f.wte.begin(), f.wte.end(), [](double v) { return v < 0; });
  REQUIRE(neg != f.wte.end());
  CHECK(static_cast<std::int64_t>(e.wte[neg - f.wte.begin()]) == std::llround(*neg * 65536));

  expect_invalid_argument([&] { (void)encode_gpt2(f, 0); }, "frac_bits 0 outside [1, 40]");
  expect_invalid_argument([&] { (void)encode_gpt2(f, 41); }, "frac_bits 41");
  Gpt2Folded huge = f;
  huge.layers[0].out_w[9] = 1e30;
  expect_invalid_argument([&] { (void)encode_gpt2(huge, 16); }, "layer 0 out_w element 9");
  Gpt2Folded short_head = f;
  short_head.head_b.pop_back();
  expect_invalid_argument([&] { (void)encode_gpt2(short_head, 16); }, "head_b has 49 values");
}

TEST_CASE("gpt2: the shape the client may know, in strict JSON") {
  const Gpt2FixedWeights e = encode_gpt2(fold_gpt2(random_model(small_config(), 8)), 12);
  const Gpt2Shape s = Gpt2Shape::of(e);
  CHECK(s.config == small_config());
  CHECK(s.frac_bits == 12);
  const json j = s.to_json();
  CHECK(j == json{{"n_layer", 2},
                  {"n_head", 2},
                  {"n_embd", 16},
                  {"n_positions", 12},
                  {"vocab_size", 50},
                  {"layer_norm_epsilon", 1e-5},
                  {"frac_bits", 12}});
  CHECK(Gpt2Shape::from_json(j) == s);
  CHECK(Gpt2Shape::from_json(json::parse(j.dump())) == s);

  const auto refused = [&](auto&& edit, const std::string& needle) {
    json k = j;
    edit(k);
    expect_invalid_argument([&] { (void)Gpt2Shape::from_json(k); }, needle);
  };
  refused([](json& k) { k.erase("frac_bits"); }, "shape: missing key \"frac_bits\"");
  refused([](json& k) { k.erase("layer_norm_epsilon"); }, "missing key \"layer_norm_epsilon\"");
  refused([](json& k) { k["n_ctx"] = 12; }, "shape: unknown key \"n_ctx\"");
  refused([](json& k) { k["n_head"] = "2"; }, "\"n_head\" is not a non-negative integer");
  refused([](json& k) { k["n_head"] = 3; }, "is not a multiple of \"n_head\" = 3");
  refused([](json& k) { k["frac_bits"] = 0; }, "frac_bits 0 outside [1, 40]");
  refused([](json& k) { k["frac_bits"] = 4000000000u; }, "\"frac_bits\" = 4000000000 above 40");
  refused([](json& k) { k["layer_norm_epsilon"] = true; },
          "\"layer_norm_epsilon\" is not a number");
  refused([](json& k) { k["vocab_size"] = 0; }, "\"vocab_size\" = 0 is not in 1..1048576");
  expect_invalid_argument([] { (void)Gpt2Shape::from_json(json::array()); }, "not a JSON object");
}
