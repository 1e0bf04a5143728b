#pragma once
// The private MLP classifier (PROTOCOL.md section 6) over the 2PC operations of common/mpc: the
// model owner (party 0) holds the weights, the client (party 1) holds the input rows; the
// client learns the class of every row (and, when the model owner allows it, the logits), the
// model owner learns nothing.
//
// Both roles run one program body, layer by layer, each layer batched over all rows:
//   Linear (k x n):  share_private_weights (F = W - B, MO -> C, once per layer per session),
//                    linear (E = X - A, C -> MO), exact truncation by f with the shape's l,
//                    then + b, added by the model owner alone (it is public to nobody else).
//   ReLU:            mpc::relu.
//   argmax:          mpc::argmax_rows over the last layer's outputs; the indices (and the
//                    logits when reveal_logits) go to the client in one message.
// mlp_plan is what that program consumes, found by running it in recording mode
// (mpc::record_program), so the plan can never drift from the program.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "material/plan.hpp"
#include "model/mlp.hpp"
#include "mpc/party.hpp"
#include "mpc/plan_recorder.hpp"
#include "ring/z2k.hpp"

namespace ppi::inference {

enum class LayerKind { linear, relu };

struct LayerShape {
  LayerKind kind = LayerKind::linear;
  std::size_t in = 0;   // linear: k, relu: its width
  std::size_t out = 0;  // linear: n, relu: its width again
  bool operator==(const LayerShape&) const = default;
};

// Bounds a shape must respect; they keep a shape received from the peer from asking for absurd
// allocations.
inline constexpr std::size_t kMaxLayers = 64;
inline constexpr std::size_t kMaxWidth = std::size_t{1} << 16;
inline constexpr std::size_t kMaxWeights = std::size_t{1} << 26;  // k n of one layer
inline constexpr std::size_t kMaxValues = std::size_t{1} << 28;   // rows times a width

// The public description of an MLP that the client may know: no weights.
struct MlpShape {
  int frac_bits = 16;
  int magnitude_bits = 48;
  std::size_t input_dim = 0;
  std::size_t classes = 0;
  std::vector<LayerShape> layers;

  // The shape of a graph (checked as validate() does).
  static MlpShape of(const model::MlpGraph& g);
  // {"frac_bits": 16, "magnitude_bits": 48, "input_dim": 64, "classes": 10,
  //  "layers": [{"kind": "linear", "in": 64, "out": 32}, {"kind": "relu", "width": 32}, ...]}
  nlohmann::json to_json() const;
  // Strict: Error(invalid_argument) on a missing or unknown key, a value of the wrong type, or a
  // shape validate() refuses.
  static MlpShape from_json(const nlohmann::json& j);

  // Error(invalid_argument) unless 1 <= f, 2 f < l <= 62, 1..kMaxLayers layers, the first and
  // last Linear, widths in 1..kMaxWidth chaining from input_dim to classes, k n <= kMaxWeights.
  void validate() const;
  bool operator==(const MlpShape&) const = default;
};

// What the program leaves each party. Client: the class of every row, and rows x classes
// logits (f fractional bits) when reveal_logits. Model owner: both empty.
struct MlpResult {
  std::vector<std::size_t> classes;
  std::vector<u64> logits;
};

// The model owner's side. `rows` and `reveal_logits` must be what the client passes.
MlpResult run_mlp_model_owner(mpc::Party& p, const model::MlpGraph& g, std::size_t rows,
                              bool reveal_logits);
// The client's side; `inputs` is rows x input_dim, encoded with shape.frac_bits.
MlpResult run_mlp_client(mpc::Party& p, const MlpShape& shape, std::span<const u64> inputs,
                         std::size_t rows, bool reveal_logits);

// The program recorded (as the client, on zero inputs): its plan and its traffic, which the
// real run reproduces exactly (rounds, and bytes the client sends and receives).
mpc::RecordedProgram record_mlp(const MlpShape& shape, std::size_t rows, bool reveal_logits);
// record_mlp(...).plan: the material one inference of `rows` rows consumes.
material::MaterialPlan mlp_plan(const MlpShape& shape, std::size_t rows, bool reveal_logits);

}  // namespace ppi::inference
