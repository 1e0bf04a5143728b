// MlpShape: what the client learns of a model, and its strict JSON form (the client parses it
// from the model owner's Accept message, so everything malformed must be refused).

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"

using namespace ppi;
using namespace ppi::inference;
using nlohmann::json;

namespace {

const std::filesystem::path kModel =
    std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp/model.safetensors";

json digits_json() {
  return MlpShape::of(model::load_mlp(kModel)).to_json();
}

// from_json must refuse `j` with invalid_argument, with `needle` in the message.
void expect_refused(const json& j, const std::string& needle) {
  CAPTURE(j.dump());
  try {
    MlpShape::from_json(j);
    FAIL("accepted a malformed shape");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, std::string(e.what()));
  }
}

void expect_refused_edit(const std::function<void(json&)>& edit, const std::string& needle) {
  json j = digits_json();
  edit(j);
  expect_refused(j, needle);
}

}  // namespace

TEST_CASE("MlpShape of the digits model: the layers, no weights, and a JSON round trip") {
  const model::MlpGraph g = model::load_mlp(kModel);
  const MlpShape s = MlpShape::of(g);
  CHECK(s.frac_bits == 16);
  CHECK(s.magnitude_bits == 48);
  CHECK(s.input_dim == 64);
  CHECK(s.classes == 10);
  const std::vector<LayerShape> expected = {{LayerKind::linear, 64, 32},
                                            {LayerKind::relu, 32, 32},
                                            {LayerKind::linear, 32, 16},
                                            {LayerKind::relu, 16, 16},
                                            {LayerKind::linear, 16, 10}};
  CHECK(s.layers == expected);

  const std::string text = s.to_json().dump();
  CHECK(text.find("weight") == std::string::npos);
  CHECK(text.find("bias") == std::string::npos);
  CHECK(MlpShape::from_json(json::parse(text)) == s);  // as the client receives it
  CHECK(MlpShape::from_json(s.to_json()) == s);        // signed integers of a built document
}

TEST_CASE("MlpShape::from_json refuses malformed documents") {
  expect_refused(json::array(), "not a JSON object");
  expect_refused(json("shape"), "not a JSON object");
  expect_refused_edit([](json& j) { j.erase("classes"); }, "missing key \"classes\"");
  expect_refused_edit([](json& j) { j["extra"] = 1; }, "unknown key \"extra\"");
  expect_refused_edit([](json& j) { j["frac_bits"] = 16.0; }, "not a non-negative integer");
  expect_refused_edit([](json& j) { j["frac_bits"] = "16"; }, "not a non-negative integer");
  expect_refused_edit([](json& j) { j["input_dim"] = true; }, "not a non-negative integer");
  expect_refused_edit([](json& j) { j["input_dim"] = -64; }, "not a non-negative integer");
  expect_refused_edit([](json& j) { j["input_dim"] = 1u << 20; }, "above");
  expect_refused_edit([](json& j) { j["layers"] = json::object(); }, "not an array");
  expect_refused_edit([](json& j) { j["layers"] = json::array(); }, "0 layers");
  expect_refused_edit([](json& j) { j["layers"][1] = 32; }, "string \"kind\"");
  expect_refused_edit([](json& j) { j["layers"][1]["kind"] = "gelu"; }, "unknown kind \"gelu\"");
  expect_refused_edit([](json& j) { j["layers"][1]["in"] = 32; }, "unknown key \"in\"");
  expect_refused_edit([](json& j) { j["layers"][0].erase("out"); }, "missing key \"out\"");
  expect_refused_edit([](json& j) { j["layers"][0]["out"] = 0; }, "gives 0 values");
  expect_refused_edit([](json& j) { j["layers"][1]["width"] = 31; }, "takes 31 values");
  expect_refused_edit([](json& j) { j["classes"] = 9; }, "classes is 9");
  expect_refused_edit([](json& j) { j["layers"].erase(4); }, "last layer must be linear");
  expect_refused_edit(
      [](json& j) {
        j["layers"].insert(j["layers"].begin(), json::object({{"kind", "relu"}, {"width", 64}}));
      },
      "first and the last layer must be linear");
  expect_refused_edit([](json& j) { j["frac_bits"] = 0; }, "frac_bits 0");
  expect_refused_edit([](json& j) { j["magnitude_bits"] = 32; }, "2 f < l");
  expect_refused_edit([](json& j) { j["magnitude_bits"] = 63; }, "above 62");
  expect_refused_edit(
      [](json& j) {
        json many = json::array();
        for (int i = 0; i < 65; ++i) many.push_back({{"kind", "linear"}, {"in", 64}, {"out", 64}});
        j["layers"] = many;
      },
      "65 layers");
  expect_refused_edit(
      [](json& j) {
        j["input_dim"] = 65536;
        j["layers"][0]["in"] = 65536;
        j["layers"][0]["out"] = 2048;
      },
      "more than 67108864 weights");
}

TEST_CASE("MlpShape::of refuses a graph the private engine cannot run") {
  model::MlpGraph g = model::load_mlp(kModel);
  g.frac_bits = 0;  // a valid plaintext model, but truncation by 0 bits is not an MPC step
  try {
    MlpShape::of(g);
    FAIL("accepted f = 0");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
  }
}
