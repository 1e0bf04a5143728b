// The private MLP program: one body for both roles (run_mlp), entered by the model owner with its
// graph and by the client with its inputs, and by the plan recorder with zeros.

#include "inference/mlp_program.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "mpc/arith.hpp"
#include "mpc/compare.hpp"
#include "mpc/linear.hpp"
#include "mpc/truncate.hpp"

namespace ppi::inference {

namespace {

// Shares of intermediate values are wiped when replaced: the client's first share is its input
// in the clear.
void replace(mpc::Shares& x, mpc::Shares next) {
  cleanse(x.data(), x.size() * sizeof(u64));
  x = std::move(next);
}

void check_rows(const MlpShape& shape, std::size_t rows) {
  std::size_t widest = shape.input_dim;
  for (const LayerShape& l : shape.layers) widest = std::max(widest, l.out);
  if (rows == 0 || rows > kMaxValues / widest) {
    throw Error(Errc::invalid_argument, "an MLP inference takes 1 to " +
                                            std::to_string(kMaxValues / widest) + " rows, not " +
                                            std::to_string(rows));
  }
}

// Y = trunc(X W) + b for one Linear layer. `weights` is the model owner's layer (nullptr at
// the client). The truncation uses the shape's f and l, not the party's defaults: l is the
// bound the model's values were checked against (model/reference.hpp).
mpc::Shares private_linear(mpc::Party& p, const MlpShape& shape, const LayerShape& layer,
                           const model::Linear* weights, const mpc::Shares& x, std::uint32_t rows) {
  std::span<const u64> w;
  if (weights != nullptr) {
    if (weights->in != layer.in || weights->out != layer.out ||
        weights->bias_fixed.size() != layer.out) {
      throw Error(Errc::invalid_argument, "the graph's weights do not match its shape");
    }
    w = std::span<const u64>(weights->weight_fixed.data(), weights->weight_fixed.size());
  }
  const mpc::PrivateWeights pw = mpc::share_private_weights(
      p, w, static_cast<std::uint32_t>(layer.in), static_cast<std::uint32_t>(layer.out));
  mpc::Shares product = mpc::linear(p, pw, x, rows);
  mpc::Shares y = mpc::truncate(p, product, shape.frac_bits, shape.magnitude_bits);
  cleanse(product.data(), product.size() * sizeof(u64));
  if (weights != nullptr) {
    // Only the model owner knows b; adding it to its share adds it to the shared value.
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < layer.out; ++j) y[r * layer.out + j] += weights->bias_fixed[j];
    }
  }
  return y;
}

// The program. The model owner passes `graph` (whose shape is `shape`) and no inputs; the
// client passes no graph and rows x input_dim inputs.
MlpResult run_mlp(mpc::Party& p, const MlpShape& shape, const model::MlpGraph* graph,
                  std::span<const u64> inputs, std::size_t rows, bool reveal_logits) {
  shape.validate();
  check_rows(shape, rows);
  const bool mo = p.is_model_owner();
  if ((graph != nullptr) != mo) {
    throw Error(Errc::internal, "the model owner runs with the graph, the client without");
  }
  if (!mo && inputs.size() != rows * shape.input_dim) {
    throw Error(Errc::invalid_argument,
                "the client's input holds " + std::to_string(inputs.size()) +
                    " values, not rows x input_dim = " + std::to_string(rows * shape.input_dim));
  }
  const auto m = static_cast<std::uint32_t>(rows);

  mpc::Shares x = mo ? mpc::share_peer_input(rows * shape.input_dim) : mpc::share_own_input(inputs);
  for (std::size_t i = 0; i < shape.layers.size(); ++i) {
    const LayerShape& layer = shape.layers[i];
    if (layer.kind == LayerKind::relu) {
      replace(x, mpc::relu(p, x));
    } else {
      const model::Linear* weights = mo ? &std::get<model::Linear>(graph->layers[i]) : nullptr;
      replace(x, private_linear(p, shape, layer, weights, x, m));
    }
  }

  mpc::RowArgmax best = mpc::argmax_rows(p, x, m, static_cast<std::uint32_t>(shape.classes));
  // One message to the client: the indices, then the logits if the model owner allows them.
  mpc::Shares out = std::move(best.indices);
  if (reveal_logits) out.insert(out.end(), x.begin(), x.end());
  replace(x, {});
  std::vector<u64> opened = mpc::reveal_to_client(p, out);
  replace(out, {});

  MlpResult result;
  if (mo) return result;
  for (std::size_t r = 0; r < rows; ++r) {
    if (opened[r] >= shape.classes) {
      throw Error(Errc::invalid_argument, "the revealed class of row " + std::to_string(r) +
                                              " is not below " + std::to_string(shape.classes));
    }
    result.classes.push_back(static_cast<std::size_t>(opened[r]));
  }
  result.logits.assign(opened.begin() + static_cast<std::ptrdiff_t>(rows), opened.end());
  return result;
}

}  // namespace

MlpResult run_mlp_model_owner(mpc::Party& p, const model::MlpGraph& g, std::size_t rows,
                              bool reveal_logits) {
  if (!p.is_model_owner()) throw Error(Errc::internal, "run_mlp_model_owner run by the client");
  const MlpShape shape = MlpShape::of(g);
  return run_mlp(p, shape, &g, {}, rows, reveal_logits);
}

MlpResult run_mlp_client(mpc::Party& p, const MlpShape& shape, std::span<const u64> inputs,
                         std::size_t rows, bool reveal_logits) {
  if (p.is_model_owner()) throw Error(Errc::internal, "run_mlp_client run by the model owner");
  return run_mlp(p, shape, nullptr, inputs, rows, reveal_logits);
}

mpc::RecordedProgram record_mlp(const MlpShape& shape, std::size_t rows, bool reveal_logits) {
  shape.validate();
  check_rows(shape, rows);
  const std::vector<u64> zeros(rows * shape.input_dim, 0);
  return mpc::record_program(
      mpc::Role::client,
      [&](mpc::Party& p) { run_mlp_client(p, shape, zeros, rows, reveal_logits); }, shape.frac_bits,
      shape.magnitude_bits);
}

material::MaterialPlan mlp_plan(const MlpShape& shape, std::size_t rows, bool reveal_logits) {
  return record_mlp(shape, rows, reveal_logits).plan;
}

}  // namespace ppi::inference
