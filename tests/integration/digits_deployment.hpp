#pragma once
// The committed digits model registered on a deployment's model owner (one input row per
// inference) and `count` fixture batches of its plan loaded on dealers 1 to 3: the set-up of
// tests that need private inferences but not their numbers. Returns the batch ids.

#include <filesystem>
#include <string>
#include <vector>

#include "deployment.hpp"
#include "digits_input.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"

namespace ppi::test {

inline std::vector<std::string> register_digits_with_batches(Deployment& d, int count) {
  const auto model_file = (kDigitsDir / "model.safetensors").string();
  std::string out;
  REQUIRE_MESSAGE(d.run_model_owner({"register", "digits", model_file, "--model.rows=1"}, out) == 0,
                  out);
  const auto graph = model::load_mlp(std::filesystem::path(model_file));
  const auto plan = inference::mlp_plan(inference::MlpShape::of(graph), 1, false);
  return d.load_batches("digits", plan, {"dealer-1", "dealer-2", "dealer-3"}, count);
}

}  // namespace ppi::test
