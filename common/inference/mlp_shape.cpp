// MlpShape: the public part of an MLP graph, its checks and its strict JSON form. The client
// receives it from the model owner, so every field is checked before it sizes anything.

#include <algorithm>
#include <initializer_list>
#include <string>
#include <variant>

#include "core/error.hpp"
#include "inference/mlp_program.hpp"
#include "mpc/party.hpp"
#include "ring/fixed_point.hpp"

namespace ppi::inference {

namespace {

[[noreturn]] void bad_shape(const std::string& why) {
  throw Error(Errc::invalid_argument, "MLP shape: " + why);
}

std::string layer_name(std::size_t i) {
  return "layer " + std::to_string(i);
}

// `j` must be an object with exactly these keys.
void require_keys(const nlohmann::json& j, std::initializer_list<const char*> keys,
                  const std::string& where) {
  if (!j.is_object()) bad_shape(where + " is not a JSON object");
  for (const char* k : keys) {
    if (!j.contains(k)) bad_shape(where + ": missing key \"" + k + "\"");
  }
  for (const auto& item : j.items()) {
    const bool known =
        std::any_of(keys.begin(), keys.end(), [&](const char* k) { return item.key() == k; });
    if (!known) bad_shape(where + ": unknown key \"" + item.key() + "\"");
  }
}

// A non-negative JSON integer no larger than `max` (floats, booleans and strings refused).
std::size_t get_count(const nlohmann::json& j, const char* key, std::size_t max,
                      const std::string& where) {
  const nlohmann::json& v = j.at(key);
  // A C++-built json holds an int as signed, a parsed one as unsigned: accept both.
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
    bad_shape(where + ": \"" + key + "\" is not a non-negative integer");
  }
  const std::uint64_t n = v.get<std::uint64_t>();
  if (n > max)
    bad_shape(where + ": \"" + key + "\" = " + std::to_string(n) + " above " + std::to_string(max));
  return static_cast<std::size_t>(n);
}

const char* kind_name(LayerKind k) {
  return k == LayerKind::linear ? "linear" : "relu";
}

}  // namespace

void MlpShape::validate() const {
  if (frac_bits < 1 || frac_bits > FixedPoint::kMaxFracBits) {
    bad_shape("frac_bits " + std::to_string(frac_bits) + " outside [1, " +
              std::to_string(FixedPoint::kMaxFracBits) + "]");
  }
  if (magnitude_bits <= 2 * frac_bits || magnitude_bits > mpc::kMaxMagnitudeBits) {
    bad_shape("magnitude_bits l = " + std::to_string(magnitude_bits) +
              " must satisfy 2 f < l <= " + std::to_string(mpc::kMaxMagnitudeBits));
  }
  if (layers.empty() || layers.size() > kMaxLayers) {
    bad_shape(std::to_string(layers.size()) + " layers, not 1 to " + std::to_string(kMaxLayers));
  }
  if (layers.front().kind != LayerKind::linear || layers.back().kind != LayerKind::linear) {
    bad_shape("the first and the last layer must be linear");
  }
  if (input_dim == 0 || input_dim > kMaxWidth || classes == 0 || classes > kMaxWidth) {
    bad_shape("input_dim and classes must be 1 to " + std::to_string(kMaxWidth));
  }
  std::size_t width = input_dim;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerShape& l = layers[i];
    const std::string where = layer_name(i) + " (" + kind_name(l.kind) + ")";
    if (l.in != width) {
      bad_shape(where + " takes " + std::to_string(l.in) + " values, the previous layer gives " +
                std::to_string(width));
    }
    if (l.out == 0 || l.out > kMaxWidth) {
      bad_shape(where + " gives " + std::to_string(l.out) + " values, not 1 to " +
                std::to_string(kMaxWidth));
    }
    if (l.kind == LayerKind::relu && l.out != l.in) bad_shape(where + " changes the width");
    if (l.kind == LayerKind::linear && l.in * l.out > kMaxWeights) {
      bad_shape(where + " has more than " + std::to_string(kMaxWeights) + " weights");
    }
    width = l.out;
  }
  if (width != classes) {
    bad_shape("the last layer gives " + std::to_string(width) + " values, classes is " +
              std::to_string(classes));
  }
}

MlpShape MlpShape::of(const model::MlpGraph& g) {
  MlpShape s;
  s.frac_bits = g.frac_bits;
  s.magnitude_bits = g.magnitude_bits;
  s.input_dim = g.input_dim;
  s.classes = g.classes;
  for (const model::Layer& layer : g.layers) {
    if (const auto* lin = std::get_if<model::Linear>(&layer)) {
      s.layers.push_back({LayerKind::linear, lin->in, lin->out});
    } else {
      const auto& relu = std::get<model::Relu>(layer);
      s.layers.push_back({LayerKind::relu, relu.width, relu.width});
    }
  }
  s.validate();
  return s;
}

nlohmann::json MlpShape::to_json() const {
  nlohmann::json layers_json = nlohmann::json::array();
  for (const LayerShape& l : layers) {
    if (l.kind == LayerKind::linear) {
      layers_json.push_back({{"kind", "linear"}, {"in", l.in}, {"out", l.out}});
    } else {
      layers_json.push_back({{"kind", "relu"}, {"width", l.in}});
    }
  }
  return {{"frac_bits", frac_bits},
          {"magnitude_bits", magnitude_bits},
          {"input_dim", input_dim},
          {"classes", classes},
          {"layers", std::move(layers_json)}};
}

MlpShape MlpShape::from_json(const nlohmann::json& j) {
  require_keys(j, {"frac_bits", "magnitude_bits", "input_dim", "classes", "layers"}, "shape");
  MlpShape s;
  s.frac_bits = static_cast<int>(get_count(j, "frac_bits", FixedPoint::kMaxFracBits, "shape"));
  s.magnitude_bits =
      static_cast<int>(get_count(j, "magnitude_bits", mpc::kMaxMagnitudeBits, "shape"));
  s.input_dim = get_count(j, "input_dim", kMaxWidth, "shape");
  s.classes = get_count(j, "classes", kMaxWidth, "shape");
  const nlohmann::json& layers_json = j.at("layers");
  if (!layers_json.is_array()) bad_shape("\"layers\" is not an array");
  if (layers_json.size() > kMaxLayers) {
    bad_shape(std::to_string(layers_json.size()) + " layers, above " + std::to_string(kMaxLayers));
  }
  for (std::size_t i = 0; i < layers_json.size(); ++i) {
    const nlohmann::json& lj = layers_json[i];
    const std::string where = layer_name(i);
    if (!lj.is_object() || !lj.contains("kind") || !lj.at("kind").is_string()) {
      bad_shape(where + " is not an object with a string \"kind\"");
    }
    const std::string kind = lj.at("kind").get<std::string>();
    if (kind == "linear") {
      require_keys(lj, {"kind", "in", "out"}, where);
      s.layers.push_back({LayerKind::linear, get_count(lj, "in", kMaxWidth, where),
                          get_count(lj, "out", kMaxWidth, where)});
    } else if (kind == "relu") {
      require_keys(lj, {"kind", "width"}, where);
      const std::size_t width = get_count(lj, "width", kMaxWidth, where);
      s.layers.push_back({LayerKind::relu, width, width});
    } else {
      bad_shape(where + ": unknown kind \"" + kind + "\" (linear, relu)");
    }
  }
  s.validate();
  return s;
}

}  // namespace ppi::inference
