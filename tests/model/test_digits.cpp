// The committed digits model (scripts/train_mlp.py) against the figures Python recorded.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"

using namespace ppi;
using namespace ppi::model;

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";

struct TestSplit {
  std::vector<double> inputs;  // m x 64
  std::vector<std::int64_t> labels;
  std::size_t size() const { return labels.size(); }
};

TestSplit load_test_split() {
  const SafeTensors st = read_safetensors(kModelDir / "test_inputs.safetensors");
  TestSplit s;
  const auto inputs = st.tensor("inputs").to_doubles();
  s.inputs.assign(inputs.begin(), inputs.end());
  s.labels = st.tensor("labels").to_int64s();
  return s;
}

nlohmann::json load_reference() {
  std::ifstream in(kModelDir / "reference.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

double accuracy(const std::vector<std::size_t>& predictions, const TestSplit& s) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    correct += static_cast<std::int64_t>(predictions[i]) == s.labels[i] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(s.size());
}

}  // namespace

TEST_CASE("digits: the committed model parses into the documented graph") {
  const MlpGraph g = load_mlp(kModelDir / "model.safetensors");
  CHECK(g.input_dim == 64);
  CHECK(g.classes == 10);
  CHECK(g.frac_bits == 16);
  CHECK(g.magnitude_bits == 48);
  REQUIRE(g.layers.size() == 5);
  CHECK(std::get<Linear>(g.layers[0]).out == 32);
  CHECK(std::get<Relu>(g.layers[1]).width == 32);
  CHECK(std::get<Linear>(g.layers[2]).out == 16);
  CHECK(std::get<Linear>(g.layers[4]).out == 10);

  const TestSplit split = load_test_split();
  const nlohmann::json ref = load_reference();
  CHECK(split.size() == ref.at("test_size").get<std::size_t>());
  CHECK(split.inputs.size() == split.size() * g.input_dim);
}

TEST_CASE("digits: C++ references agree with Python, fixed point within 0.5 points of float") {
  const MlpGraph g = load_mlp(kModelDir / "model.safetensors");
  const TestSplit split = load_test_split();
  const nlohmann::json ref = load_reference();
  const std::size_t m = split.size();

  const FloatResult fl = float_forward(g, split.inputs, m);
  const FixedPointResult fx = fixed_point_forward(g, encode_inputs(g, split.inputs), m);
  const double float_acc = accuracy(fl.predictions, split);
  const double fixed_acc = accuracy(fx.predictions, split);
  const double python_float32 = ref.at("float32_test_accuracy").get<double>();

  MESSAGE("digits test split: " << m << " samples; float accuracy " << 100 * float_acc
                                << "% (Python float32 " << 100 * python_float32
                                << "%), fixed point accuracy " << 100 * fixed_acc
                                << "%; largest |value| " << fx.max_abs << " (2^"
                                << std::log2(static_cast<double>(fx.max_abs)) << ") < 2^"
                                << g.magnitude_bits);

  // The float64 pass is the same computation in both languages: same class for every sample.
  CHECK(fl.predictions == ref.at("float64_predictions").get<std::vector<std::size_t>>());
  CHECK(float_acc == doctest::Approx(ref.at("float64_test_accuracy").get<double>()));
  CHECK(float_acc == doctest::Approx(python_float32));
  CHECK(float_acc >= 0.95);

  // Python's fixed point is an independent implementation with exact integers.
  CHECK(fx.predictions == ref.at("fixed_point_predictions").get<std::vector<std::size_t>>());
  CHECK(fx.max_abs == ref.at("fixed_point_max_abs").get<std::uint64_t>());
  CHECK(std::fabs(fixed_acc - float_acc) <= 0.005);

  CHECK(fx.max_abs < (u64{1} << g.magnitude_bits));
}
