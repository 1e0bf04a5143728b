#include "model/mlp.hpp"

#include <cstdint>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::model {
namespace {

constexpr const char* kArchitecture = "ppi.architecture";
constexpr const char* kLayers = "ppi.mlp.layers";
constexpr const char* kClasses = "ppi.mlp.classes";
constexpr const char* kFracBits = "ppi.fixed_point.frac_bits";
constexpr const char* kMagnitudeBits = "ppi.fixed_point.magnitude_bits";

[[noreturn]] void bad_model(const std::string& what) {
  throw Error(Errc::invalid_argument, "mlp: " + what);
}

std::string layer_name(std::size_t j) {
  return "layer " + std::to_string(j);
}

std::string weight_key(std::size_t j) {
  return "layers." + std::to_string(j) + ".weight";
}

std::string bias_key(std::size_t j) {
  return "layers." + std::to_string(j) + ".bias";
}

const std::string& required_meta(const SafeTensors& st, const std::string& key) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end()) bad_model("missing __metadata__ \"" + key + "\"");
  return it->second;
}

// Decimal digits only, no sign or spaces, at most `max`.
std::size_t meta_number(const SafeTensors& st, const std::string& key, std::size_t max) {
  const std::string& s = required_meta(st, key);
  if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) {
    bad_model("__metadata__ \"" + key + "\" is not a decimal number: \"" + s + "\"");
  }
  const std::size_t v = std::stoull(s);
  if (v > max) bad_model("__metadata__ \"" + key + "\" = " + s + " above " + std::to_string(max));
  return v;
}

std::vector<std::string> split_layers(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  if (!s.empty() && s.back() == ',') out.emplace_back();
  return out;
}

bool fits_magnitude(u64 v, int bits) {
  const u64 mag = (v >> 63) ? ~v + 1 : v;
  return mag < (u64{1} << bits);
}

// The one place where torch's [out, in] becomes this project's [in, out].
Linear linear_from_torch(const Tensor& w, const Tensor& b, std::size_t j) {
  const std::string where = layer_name(j) + " (linear)";
  if (w.dtype != DType::F32 && w.dtype != DType::F64) bad_model(where + ": weight is not F32/F64");
  if (b.dtype != DType::F32 && b.dtype != DType::F64) bad_model(where + ": bias is not F32/F64");
  if (w.shape.size() != 2) bad_model(where + ": weight is not a matrix [out, in]");
  if (b.shape.size() != 1) bad_model(where + ": bias is not a vector [out]");
  Linear l;
  l.out = w.shape[0];
  l.in = w.shape[1];
  if (l.in == 0 || l.out == 0) bad_model(where + ": weight has an empty dimension");
  if (b.shape[0] != l.out) {
    bad_model(where + ": bias has " + std::to_string(b.shape[0]) + " entries for " +
              std::to_string(l.out) + " outputs");
  }
  const SecretVector<double> torch_w = w.to_doubles();
  l.weight.resize(l.in * l.out);
  for (std::size_t o = 0; o < l.out; ++o) {
    for (std::size_t i = 0; i < l.in; ++i) l.weight[i * l.out + o] = torch_w[o * l.in + i];
  }
  l.bias = b.to_doubles();
  return l;
}

Tensor tensor_of(std::vector<std::uint64_t> shape, const SecretVector<double>& values) {
  bool floats = true;
  for (double v : values) floats = floats && static_cast<double>(static_cast<float>(v)) == v;
  return Tensor::from_doubles(floats ? DType::F32 : DType::F64, std::move(shape), values);
}

void validate_linear(const Linear& l, const MlpGraph& g, std::size_t j) {
  const std::string where = layer_name(j) + " (linear)";
  if (l.weight.size() != l.in * l.out || l.bias.size() != l.out) {
    bad_model(where + ": weight or bias size does not match " + std::to_string(l.in) + " x " +
              std::to_string(l.out));
  }
  if (l.weight_fixed.size() != l.weight.size() || l.bias_fixed.size() != l.bias.size()) {
    bad_model(where + ": fixed-point weights are missing (encode_weights)");
  }
  const FixedPoint fp(g.frac_bits);
  for (std::size_t i = 0; i < l.weight.size(); ++i) {
    if (fp.encode(l.weight[i]) != l.weight_fixed[i]) {
      bad_model(where + ": fixed-point weight " + std::to_string(i) + " is not its encoding");
    }
    if (!fits_magnitude(l.weight_fixed[i], g.magnitude_bits)) {
      bad_model(where + ": weight " + std::to_string(i) + " is not below 2^l");
    }
  }
  for (std::size_t i = 0; i < l.bias.size(); ++i) {
    if (fp.encode(l.bias[i]) != l.bias_fixed[i]) {
      bad_model(where + ": fixed-point bias " + std::to_string(i) + " is not its encoding");
    }
    if (!fits_magnitude(l.bias_fixed[i], g.magnitude_bits)) {
      bad_model(where + ": bias " + std::to_string(i) + " is not below 2^l");
    }
  }
}

}  // namespace

void encode_weights(MlpGraph& g) {
  const FixedPoint fp(g.frac_bits);
  for (std::size_t j = 0; j < g.layers.size(); ++j) {
    auto* l = std::get_if<Linear>(&g.layers[j]);
    if (l == nullptr) continue;
    try {
      l->weight_fixed.assign(l->weight.size(), 0);
      for (std::size_t i = 0; i < l->weight.size(); ++i)
        l->weight_fixed[i] = fp.encode(l->weight[i]);
      l->bias_fixed.assign(l->bias.size(), 0);
      for (std::size_t i = 0; i < l->bias.size(); ++i) l->bias_fixed[i] = fp.encode(l->bias[i]);
    } catch (const Error& e) {
      bad_model(layer_name(j) + " (linear): " + e.what());
    }
  }
}

void validate(const MlpGraph& g) {
  if (g.frac_bits < 0 || g.frac_bits > FixedPoint::kMaxFracBits) {
    bad_model("frac_bits " + std::to_string(g.frac_bits) + " outside [0, " +
              std::to_string(FixedPoint::kMaxFracBits) + "]");
  }
  if (g.magnitude_bits > kMaxMagnitudeBits || g.magnitude_bits <= 2 * g.frac_bits) {
    bad_model("magnitude_bits l = " + std::to_string(g.magnitude_bits) +
              " must satisfy 2 f < l <= " + std::to_string(kMaxMagnitudeBits) +
              " (f = " + std::to_string(g.frac_bits) + ")");
  }
  if (g.layers.empty()) bad_model("no layers");
  if (!std::holds_alternative<Linear>(g.layers.front()) ||
      !std::holds_alternative<Linear>(g.layers.back())) {
    bad_model("the first and the last layer must be linear");
  }
  if (g.input_dim == 0 || g.classes == 0) bad_model("input_dim and classes must be positive");
  std::size_t width = g.input_dim;
  for (std::size_t j = 0; j < g.layers.size(); ++j) {
    if (const auto* l = std::get_if<Linear>(&g.layers[j])) {
      if (l->in != width) {
        bad_model(layer_name(j) + " (linear) takes " + std::to_string(l->in) +
                  " inputs but the previous layer gives " + std::to_string(width));
      }
      validate_linear(*l, g, j);
      width = l->out;
    } else {
      const auto& r = std::get<Relu>(g.layers[j]);
      if (r.width != width) {
        bad_model(layer_name(j) + " (relu) has width " + std::to_string(r.width) +
                  " but the previous layer gives " + std::to_string(width));
      }
    }
  }
  if (width != g.classes) {
    bad_model("the last layer gives " + std::to_string(width) + " outputs for " +
              std::to_string(g.classes) + " classes");
  }
}

MlpGraph load_mlp(const SafeTensors& st) {
  const std::string& arch = required_meta(st, kArchitecture);
  if (arch != "mlp") bad_model("architecture \"" + arch + "\" is not \"mlp\"");
  MlpGraph g;
  g.frac_bits = static_cast<int>(meta_number(st, kFracBits, FixedPoint::kMaxFracBits));
  g.magnitude_bits = static_cast<int>(meta_number(st, kMagnitudeBits, kMaxMagnitudeBits));
  g.classes = meta_number(st, kClasses, std::numeric_limits<std::uint32_t>::max());

  const std::vector<std::string> kinds = split_layers(required_meta(st, kLayers));
  std::set<std::string> expected_tensors;
  for (std::size_t j = 0; j < kinds.size(); ++j) {
    if (kinds[j] == "linear") {
      auto w = st.tensors.find(weight_key(j));
      auto b = st.tensors.find(bias_key(j));
      if (w == st.tensors.end()) bad_model("missing tensor \"" + weight_key(j) + "\"");
      if (b == st.tensors.end()) bad_model("missing tensor \"" + bias_key(j) + "\"");
      Linear l = linear_from_torch(w->second, b->second, j);
      if (j == 0) g.input_dim = l.in;
      g.layers.emplace_back(std::move(l));
      expected_tensors.insert(weight_key(j));
      expected_tensors.insert(bias_key(j));
    } else if (kinds[j] == "relu") {
      const std::size_t width = g.layers.empty() ? 0
                                : std::get_if<Linear>(&g.layers.back()) != nullptr
                                    ? std::get<Linear>(g.layers.back()).out
                                    : std::get<Relu>(g.layers.back()).width;
      g.layers.emplace_back(Relu{width});
    } else {
      bad_model("unknown layer kind \"" + kinds[j] + "\" in " + kLayers);
    }
  }
  for (const auto& [name, t] : st.tensors) {
    if (!expected_tensors.contains(name)) bad_model("unexpected tensor \"" + name + "\"");
  }
  encode_weights(g);
  validate(g);
  return g;
}

MlpGraph load_mlp(const std::filesystem::path& path) {
  const SafeTensors st = read_safetensors(path);
  try {
    return load_mlp(st);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

SafeTensors export_mlp(const MlpGraph& g) {
  validate(g);
  SafeTensors st;
  std::string kinds;
  for (std::size_t j = 0; j < g.layers.size(); ++j) {
    if (!kinds.empty()) kinds += ',';
    if (const auto* l = std::get_if<Linear>(&g.layers[j])) {
      kinds += "linear";
      SecretVector<double> torch_w(l->in * l->out);
      for (std::size_t o = 0; o < l->out; ++o) {
        for (std::size_t i = 0; i < l->in; ++i) torch_w[o * l->in + i] = l->weight[i * l->out + o];
      }
      st.tensors.emplace(weight_key(j), tensor_of({l->out, l->in}, torch_w));
      st.tensors.emplace(bias_key(j), tensor_of({l->out}, l->bias));
    } else {
      kinds += "relu";
    }
  }
  st.metadata = {{kArchitecture, "mlp"},
                 {kLayers, kinds},
                 {kClasses, std::to_string(g.classes)},
                 {kFracBits, std::to_string(g.frac_bits)},
                 {kMagnitudeBits, std::to_string(g.magnitude_bits)}};
  return st;
}

}  // namespace ppi::model
