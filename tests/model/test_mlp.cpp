#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "expect_error.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"
#include "ring/fixed_point.hpp"

using namespace ppi;
using namespace ppi::model;

namespace {

// A linear layer from torch-layout rows w[out][in].
Linear linear(const std::vector<std::vector<double>>& w, const std::vector<double>& b) {
  Linear l;
  l.out = w.size();
  l.in = w.front().size();
  l.weight.resize(l.in * l.out);
  for (std::size_t o = 0; o < l.out; ++o) {
    for (std::size_t i = 0; i < l.in; ++i) l.weight[i * l.out + o] = w[o][i];
  }
  l.bias.assign(b.begin(), b.end());
  return l;
}

MlpGraph graph(int f, int l, std::vector<Layer> layers, std::size_t in, std::size_t classes) {
  MlpGraph g;
  g.frac_bits = f;
  g.magnitude_bits = l;
  g.input_dim = in;
  g.classes = classes;
  g.layers = std::move(layers);
  encode_weights(g);
  validate(g);
  return g;
}

// A deterministic 6 -> 5 -> 4 -> 3 graph with weights of both signs in [-1, 1].
MlpGraph patterned_graph() {
  auto pattern = [](std::size_t rows, std::size_t cols, double phase) {
    std::vector<std::vector<double>> w(rows, std::vector<double>(cols));
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) w[r][c] = std::sin(phase + 1.7 * r + 0.9 * c);
    }
    return w;
  };
  return graph(16, 48,
               {linear(pattern(5, 6, 0.3), {0.1, -0.2, 0.3, -0.4, 0.5}), Relu{5},
                linear(pattern(4, 5, 1.1), {-0.05, 0.0, 0.05, 0.2}), Relu{4},
                linear(pattern(3, 4, 2.3), {0.0, 0.01, -0.01})},
               6, 3);
}

void expect_invalid(const SafeTensors& st, const std::string& needle) {
  expect_invalid_argument([&] { (void)load_mlp(st); }, needle);
}

std::int64_t sv(u64 v) {
  return static_cast<std::int64_t>(v);
}

}  // namespace

TEST_CASE("mlp: torch's [out, in] weight becomes [in, out] at load and back at export") {
  const MlpGraph g = graph(8, 24, {linear({{1, 2, 3}, {4, 5, 6}}, {0.5, -0.5})}, 3, 2);
  const SafeTensors st = export_mlp(g);
  const Tensor& w = st.tensor("layers.0.weight");
  CHECK(w.shape == std::vector<std::uint64_t>{2, 3});
  CHECK(w.dtype == DType::F32);
  const auto torch_w = w.to_doubles();
  CHECK(std::vector<double>(torch_w.begin(), torch_w.end()) ==
        std::vector<double>{1, 2, 3, 4, 5, 6});

  const MlpGraph back = load_mlp(parse_safetensors(serialize_safetensors(st)));
  const auto& l = std::get<Linear>(back.layers.at(0));
  CHECK(l.in == 3);
  CHECK(l.out == 2);
  // weight[i * out + o] = torch[o][i]: row i of W is input i's weights.
  CHECK(std::vector<double>(l.weight.begin(), l.weight.end()) ==
        std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(l.weight_fixed[1] == FixedPoint(8).encode(4.0));
  CHECK(back.frac_bits == 8);
  CHECK(back.magnitude_bits == 24);
  CHECK(back.input_dim == 3);
  CHECK(back.classes == 2);
}

TEST_CASE("mlp: a graph survives export and load, F64 where floats are not exact") {
  MlpGraph g = patterned_graph();
  const SafeTensors st = export_mlp(g);
  CHECK(st.tensor("layers.0.weight").dtype == DType::F64);  // sin() values are not floats
  CHECK(st.meta("ppi.mlp.layers") == "linear,relu,linear,relu,linear");
  const MlpGraph back = load_mlp(parse_safetensors(serialize_safetensors(st)));
  REQUIRE(back.layers.size() == g.layers.size());
  for (std::size_t j = 0; j < g.layers.size(); ++j) {
    CHECK(back.layers[j].index() == g.layers[j].index());
    if (const auto* l = std::get_if<Linear>(&g.layers[j])) {
      const auto& b = std::get<Linear>(back.layers[j]);
      CHECK(b.weight == l->weight);
      CHECK(b.bias == l->bias);
      CHECK(b.weight_fixed == l->weight_fixed);
    } else {
      CHECK(std::get<Relu>(back.layers[j]).width == std::get<Relu>(g.layers[j]).width);
    }
  }
}

TEST_CASE("mlp: files that do not follow the convention are refused") {
  const SafeTensors good = export_mlp(patterned_graph());
  auto with_meta = [&](const std::string& k, const std::string& v) {
    SafeTensors st = good;
    st.metadata[k] = v;
    return st;
  };
  auto without_meta = [&](const std::string& k) {
    SafeTensors st = good;
    st.metadata.erase(k);
    return st;
  };
  expect_invalid(with_meta("ppi.architecture", "gpt2"), "architecture \"gpt2\"");
  expect_invalid(without_meta("ppi.architecture"), "missing __metadata__ \"ppi.architecture\"");
  expect_invalid(without_meta("ppi.mlp.classes"), "ppi.mlp.classes");
  expect_invalid(with_meta("ppi.mlp.classes", "4"), "gives 3 outputs for 4 classes");
  expect_invalid(with_meta("ppi.fixed_point.frac_bits", "16x"), "not a decimal number");
  expect_invalid(with_meta("ppi.fixed_point.frac_bits", "-1"), "not a decimal number");
  expect_invalid(with_meta("ppi.fixed_point.frac_bits", "41"), "above 40");
  expect_invalid(with_meta("ppi.fixed_point.magnitude_bits", "63"), "above 62");
  expect_invalid(with_meta("ppi.fixed_point.magnitude_bits", "32"), "2 f < l");
  expect_invalid(with_meta("ppi.mlp.layers", "linear,gelu,linear,relu,linear"),
                 "unknown layer kind \"gelu\"");
  expect_invalid(with_meta("ppi.mlp.layers", "relu,linear,relu,linear,relu,linear"),
                 "missing tensor \"layers.1.weight\"");
  expect_invalid(with_meta("ppi.mlp.layers", "linear,relu,linear,relu,linear,relu"),
                 "first and the last layer must be linear");
  expect_invalid(with_meta("ppi.mlp.layers", "linear,relu,linear"), "unexpected tensor \"layers.4");

  SafeTensors missing_bias = good;
  missing_bias.tensors.erase("layers.2.bias");
  expect_invalid(missing_bias, "missing tensor \"layers.2.bias\"");

  SafeTensors extra = good;
  extra.tensors.emplace("layers.9.weight", good.tensor("layers.0.weight"));
  expect_invalid(extra, "unexpected tensor \"layers.9.weight\"");

  SafeTensors no_chain = good;  // layer 2 takes 5 inputs; give it a 4-input weight
  no_chain.tensors["layers.2.weight"] =
      Tensor::from_doubles(DType::F32, {4, 4}, std::vector<double>(16, 0.5));
  expect_invalid(no_chain, "layer 2 (linear) takes 4 inputs but the previous layer gives 5");

  SafeTensors bad_bias = good;
  bad_bias.tensors["layers.0.bias"] = Tensor::from_doubles(DType::F32, {4}, std::vector<double>(4));
  expect_invalid(bad_bias, "bias has 4 entries for 5 outputs");

  SafeTensors int_weight = good;
  int_weight.tensors["layers.0.weight"] =
      Tensor::from_int64s(DType::I32, {5, 6}, std::vector<std::int64_t>(30, 1));
  expect_invalid(int_weight, "weight is not F32/F64");

  SafeTensors vector_weight = good;
  vector_weight.tensors["layers.0.weight"] =
      Tensor::from_doubles(DType::F32, {30}, std::vector<double>(30));
  expect_invalid(vector_weight, "not a matrix");

  SafeTensors big_weight = good;  // 2^40 * 2^16 = 2^56 >= 2^48
  big_weight.tensors["layers.0.bias"] =
      Tensor::from_doubles(DType::F64, {5}, std::vector<double>{0, 0, std::ldexp(1.0, 40), 0, 0});
  expect_invalid(big_weight, "bias 2 is not below 2^l");
}

TEST_CASE("mlp: validate catches hand-built graphs that do not chain or were not encoded") {
  MlpGraph g = patterned_graph();
  std::get<Relu>(g.layers[1]).width = 4;
  CHECK_THROWS_WITH_AS(validate(g), doctest::Contains("layer 1 (relu) has width 4"), Error);

  MlpGraph stale = patterned_graph();
  std::get<Linear>(stale.layers[0]).weight[3] += 1.0;
  CHECK_THROWS_WITH_AS(validate(stale), doctest::Contains("is not its encoding"), Error);

  MlpGraph empty;
  empty.input_dim = 1;
  empty.classes = 1;
  CHECK_THROWS_WITH_AS(validate(empty), doctest::Contains("no layers"), Error);
}

TEST_CASE("fixed point: truncation is a floor, then the bias is added") {
  // f = 2: -0.25 * 0.25 = -1/16 is -1 with 2f bits; floor(-1 / 4) = -1 (toward zero would be 0).
  const MlpGraph g = graph(2, 10, {linear({{0.25}}, {0.0})}, 1, 1);
  const FixedPointResult r =
      fixed_point_forward(g, encode_inputs(g, std::vector<double>{-0.25}), 1);
  CHECK(sv(r.logits[0]) == -1);

  // 0.75 * 0.75 = 9/16 -> floor(9/4) = 2, + bias 0.5 (2) = 4, i.e. 1.0.
  const MlpGraph h = graph(2, 10, {linear({{0.75}}, {0.5})}, 1, 1);
  CHECK(sv(fixed_point_forward(h, encode_inputs(h, std::vector<double>{0.75}), 1).logits[0]) == 4);
  // -0.75 * 0.75 = -9/16 -> floor(-9/4) = -3, + 2 = -1.
  CHECK(sv(fixed_point_forward(h, encode_inputs(h, std::vector<double>{-0.75}), 1).logits[0]) ==
        -1);
}

TEST_CASE("fixed point: ReLU keeps zero and positives, zeroes negatives; argmax reads signed") {
  CHECK(relu_fixed(std::vector<u64>{0, 5, ~u64{0}, u64{1} << 63, (u64{1} << 63) - 1}) ==
        std::vector<u64>{0, 5, 0, 0, (u64{1} << 63) - 1});
  CHECK(argmax_signed(std::vector<u64>{~u64{0}, 1}) == 1);  // -1 < 1
  CHECK(argmax_signed(std::vector<u64>{3, 7, 7, 2}) == 1);  // ties to the lowest index
  CHECK(argmax_signed(std::vector<u64>{~u64{0}, ~u64{0}}) == 0);
  CHECK(argmax(std::vector<double>{0.5, 0.5, -1.0}) == 0);
  CHECK_THROWS_AS(argmax_signed(std::vector<u64>{}), Error);

  // Two equal logits through the whole graph: class 0 wins.
  const MlpGraph g = graph(4, 12, {linear({{1.0}, {1.0}}, {0.0, 0.0})}, 1, 2);
  CHECK(fixed_point_forward(g, encode_inputs(g, std::vector<double>{0.5}), 1).predictions[0] == 0);
  // ReLU between layers: a negative hidden unit contributes nothing.
  const MlpGraph k = graph(
      4, 12, {linear({{1.0}, {-1.0}}, {0.0, 0.0}), Relu{2}, linear({{1.0, 1.0}}, {0.0})}, 1, 1);
  CHECK(sv(fixed_point_forward(k, encode_inputs(k, std::vector<double>{0.5}), 1).logits[0]) == 8);
  CHECK(sv(fixed_point_forward(k, encode_inputs(k, std::vector<double>{-0.5}), 1).logits[0]) == 8);
}

TEST_CASE("fixed point: follows the float model within the rounding error, batch by batch") {
  const MlpGraph g = patterned_graph();
  std::vector<double> inputs;
  const std::size_t m = 9;
  for (std::size_t i = 0; i < m * g.input_dim; ++i) inputs.push_back(std::cos(0.37 * i));
  const FixedPointResult fx = fixed_point_forward(g, encode_inputs(g, inputs), m);
  const FloatResult fl = float_forward(g, inputs, m);
  REQUIRE(fx.logits.size() == m * g.classes);
  const FixedPoint fp(g.frac_bits);
  for (std::size_t i = 0; i < fx.logits.size(); ++i) {
    // Each layer adds at most a few ulps of rounding (weights, inputs, floor); 2^-10 is loose.
    CHECK(std::fabs(fp.decode(fx.logits[i]) - fl.logits[i]) < std::ldexp(1.0, -10));
  }
  // Rows are independent: the batch gives what each row alone gives.
  for (std::size_t i = 0; i < m; ++i) {
    const std::vector<double> row(inputs.begin() + i * g.input_dim,
                                  inputs.begin() + (i + 1) * g.input_dim);
    const FixedPointResult one = fixed_point_forward(g, encode_inputs(g, row), 1);
    CHECK(one.predictions[0] == fx.predictions[i]);
    CHECK(std::vector<u64>(one.logits) ==
          std::vector<u64>(fx.logits.begin() + i * g.classes,
                           fx.logits.begin() + (i + 1) * g.classes));
  }
  CHECK(fx.max_abs > 0);
  CHECK(fx.max_abs < (u64{1} << g.magnitude_bits));
}

TEST_CASE("fixed point: a value at or past 2^l is refused, not wrapped") {
  // f = 4, l = 12: inputs must stay below 2^12 ring units, i.e. |x| < 256.
  const MlpGraph g = graph(4, 12, {linear({{1.0}}, {0.0})}, 1, 1);
  CHECK_NOTHROW(fixed_point_forward(g, encode_inputs(g, std::vector<double>{15.9}), 1));
  CHECK_THROWS_WITH_AS(fixed_point_forward(g, encode_inputs(g, std::vector<double>{256.0}), 1),
                       doctest::Contains("input 0 has |value| >= 2^12"), Error);
  // 16 * 1.0 is 2^8 * 2^4 = 2^12 before truncation.
  CHECK_THROWS_WITH_AS(fixed_point_forward(g, encode_inputs(g, std::vector<double>{16.0}), 1),
                       doctest::Contains("product before truncation"), Error);
  // Far past 2^64: still refused (the exact product is kept), never wrapped into range.
  const MlpGraph wide =
      graph(0, 62, {linear({{std::ldexp(1.0, 61), std::ldexp(1.0, 61)}}, {0})}, 2, 1);
  const std::vector<u64> big = {u64{1} << 61, u64{1} << 61};
  CHECK_THROWS_WITH_AS(fixed_point_forward(wide, big, 1), doctest::Contains("2^62"), Error);

  CHECK_THROWS_AS(fixed_point_forward(g, std::vector<u64>{1, 2}, 1), Error);
  CHECK_THROWS_AS(fixed_point_forward(g, std::vector<u64>{}, 0), Error);
  CHECK_THROWS_AS(float_forward(g, std::vector<double>{1, 2, 3}, 2), Error);
}
