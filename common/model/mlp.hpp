#pragma once
// The MLP graph: Linear and ReLU layers in sequence, then an argmax over the last layer's
// outputs (the class). Plain structs, so that the private program (common/mpc) can walk the
// same layer list the plaintext references do.
//
// Weight layout: W is in x out (k x n), row-major, and a layer computes y = x W + b for a row
// vector x; a batch X (m x k) gives X W (m x n), the shape of PROTOCOL.md section 6. Files
// exported from torch store nn.Linear's weight as [out, in]; load_mlp transposes it, and only
// it does (export_mlp transposes back).
//
// File convention (safetensors, see safetensors.hpp and docs/models.md):
//   __metadata__ "ppi.architecture"               "mlp"
//                "ppi.mlp.layers"                 "linear,relu,linear,relu,linear"
//                "ppi.mlp.classes"                "10"
//                "ppi.fixed_point.frac_bits"      "16"   (f)
//                "ppi.fixed_point.magnitude_bits" "48"   (l: every value |x| < 2^l, l <= 62)
//   tensors      "layers.<j>.weight" [out, in] and "layers.<j>.bias" [out], F32 or F64, for
//                each j where entry j of ppi.mlp.layers is "linear" (torch's nn.Sequential
//                naming); no other tensor.

#include <cstddef>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "model/safetensors.hpp"
#include "model/secret_vector.hpp"
#include "ring/z2k.hpp"

namespace ppi::model {

struct Linear {
  std::size_t in = 0;           // k
  std::size_t out = 0;          // n
  SecretVector<double> weight;  // in x out, row-major
  SecretVector<double> bias;    // out
  // The same values encoded with the graph's frac_bits (ring/fixed_point.hpp: round to nearest).
  SecretVector<u64> weight_fixed;
  SecretVector<u64> bias_fixed;
};

struct Relu {
  std::size_t width = 0;
};

using Layer = std::variant<Linear, Relu>;

struct MlpGraph {
  int frac_bits = 16;       // f
  int magnitude_bits = 48;  // l
  std::size_t input_dim = 0;
  std::size_t classes = 0;
  std::vector<Layer> layers;  // followed by argmax (ties to the lowest index)
};

inline constexpr int kMaxMagnitudeBits = 62;

// Checks the graph: at least one layer, the first and last are Linear, widths chain from
// input_dim to classes, weight/bias sizes match, the fixed-point copies are the encodings of the
// float weights, every encoded weight and bias is below 2^l, 2 f < l <= 62 (so that a product
// with 2 f fractional bits can be truncated). Throws Error(invalid_argument) naming the layer.
void validate(const MlpGraph& g);

// Builds a graph from a file image following the convention above and validates it. Throws
// Error(invalid_argument) for a file that does not follow it (unknown architecture, missing or
// extra tensors, shapes that do not chain, a malformed metadata number).
MlpGraph load_mlp(const SafeTensors& st);
MlpGraph load_mlp(const std::filesystem::path& path);

// The graph in the file convention (weights as F32 when every one is exactly a float, else
// F64), so that load_mlp(export_mlp(g)) gives g back.
SafeTensors export_mlp(const MlpGraph& g);

// Fills weight_fixed / bias_fixed from weight / bias with g.frac_bits; used after building or
// editing a graph by hand.
void encode_weights(MlpGraph& g);

}  // namespace ppi::model
