// The private MLP program on hand-built graphs: shapes the digits model does not have.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <variant>
#include <vector>

#include "crypto/csprng.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "private_mlp.hpp"

using namespace ppi;
using namespace ppi::inference;
using namespace ppi::inference::test;

namespace {

// Uniform in [-1, 1] with a 1/1000 step, from the CSPRNG.
std::vector<double> random_reals(std::size_t n) {
  std::vector<std::uint32_t> r(n);
  random_bytes({reinterpret_cast<std::uint8_t*>(r.data()), n * sizeof(std::uint32_t)});
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(r[i] % 2001) / 1000.0 - 1.0;
  return out;
}

// Linear layers of the given widths with ReLU between them, random weights.
model::MlpGraph random_graph(const std::vector<std::size_t>& widths) {
  model::MlpGraph g;
  g.input_dim = widths.front();
  g.classes = widths.back();
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    if (i > 0) g.layers.emplace_back(model::Relu{widths[i]});
    model::Linear l;
    l.in = widths[i];
    l.out = widths[i + 1];
    const std::vector<double> w = random_reals(l.in * l.out), b = random_reals(l.out);
    l.weight.assign(w.begin(), w.end());
    l.bias.assign(b.begin(), b.end());
    g.layers.emplace_back(std::move(l));
  }
  model::encode_weights(g);
  model::validate(g);
  return g;
}

std::vector<u64> random_inputs(const model::MlpGraph& g, std::size_t rows) {
  const std::vector<double> x = random_reals(rows * g.input_dim);
  return model::encode_inputs(g, x);
}

}  // namespace

TEST_CASE("a single Linear layer: each logit is the floor of the reference or one more") {
  const model::MlpGraph g = random_graph({12, 5});
  const std::size_t rows = 7;
  const std::vector<u64> x = random_inputs(g, rows);
  const PrivateRun run = run_private_mlp(g, x, rows, true);
  const model::FixedPointResult ref = model::fixed_point_forward(g, x, rows);
  REQUIRE(run.client.logits.size() == ref.logits.size());
  for (std::size_t i = 0; i < ref.logits.size(); ++i) {
    const auto diff = static_cast<std::int64_t>(run.client.logits[i] - ref.logits[i]);
    CHECK((diff == 0 || diff == 1));
  }
  for (std::size_t r = 0; r < rows; ++r) {
    CHECK(run.client.classes[r] ==
          model::argmax_signed(std::span<const u64>(run.client.logits).subspan(r * 5, 5)));
  }
}

TEST_CASE("layers of the same shape each use their own weight mask") {
  // 8 -> 8 -> 8 -> 3: two WEIGHT_MASK_8_8 instances; each MASKED_TRIPLE_m_8_8 must pair with
  // the mask of its own layer, or the products would be wrong.
  const model::MlpGraph g = random_graph({8, 8, 8, 3});
  const std::size_t rows = 5;
  const material::MaterialPlan plan = mlp_plan(MlpShape::of(g), rows, true);
  std::size_t masks_8_8 = 0;
  for (const material::PlanItem& item : plan.items()) {
    if (item.type.kind == material::Kind::weight_mask && item.type.k == 8 && item.type.n == 8) {
      masks_8_8 += item.count;
    }
  }
  CHECK(masks_8_8 == 2);

  const std::vector<u64> x = random_inputs(g, rows);
  const PrivateRun run = run_private_mlp(g, x, rows, true, &plan);
  const model::FixedPointResult ref = model::fixed_point_forward(g, x, rows);
  REQUIRE(run.client.logits.size() == ref.logits.size());
  // A MASKED_TRIPLE paired with the other layer's mask would put the logits off by random
  // amounts far beyond the truncation bound.
  const std::vector<std::uint64_t> bound = logit_error_bound(g);
  for (std::size_t i = 0; i < ref.logits.size(); ++i) {
    const auto diff = static_cast<std::int64_t>(run.client.logits[i] - ref.logits[i]);
    CHECK(static_cast<std::uint64_t>(std::llabs(diff)) <= bound[i % g.classes]);
  }
  CHECK(run.material_left_mo == 0);
  CHECK(run.material_left_client == 0);
}
