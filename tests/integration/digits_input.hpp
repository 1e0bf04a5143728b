#pragma once
// The committed digits model (models/digits_mlp) and one row of its test split written as the
// client's --input file, for tests that need a private inference but not its numbers.

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "model/safetensors.hpp"

namespace ppi::test {

inline const std::filesystem::path kDigitsDir =
    std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";

inline std::filesystem::path write_digits_row(const std::filesystem::path& file) {
  const auto split = model::read_safetensors(kDigitsDir / "test_inputs.safetensors");
  const auto inputs = split.tensor("inputs").to_doubles();
  std::ofstream(file)
      << nlohmann::json{{"inputs", {std::vector<double>(inputs.begin(), inputs.begin() + 64)}}}
             .dump();
  return file;
}

}  // namespace ppi::test
