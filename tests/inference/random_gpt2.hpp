#pragma once
// Random GPT-2 models in the Hugging Face layout, for tests and benchmarks: weights of GPT-2's
// kind of scale, so that attention is neither uniform nor one-hot and GELU sees both signs.

#include <cstdint>
#include <filesystem>

#include "model/safetensors.hpp"

namespace ppi::inference::test {

struct RandomGpt2 {
  int layers = 2, heads = 4, d = 32, vocab = 300, positions = 24;
  model::DType dtype = model::DType::F32;
};

// config.json and model.safetensors in `dir` (created), from a PRG seeded with `seed`.
void write_random_gpt2(const std::filesystem::path& dir, const RandomGpt2& shape,
                       std::uint64_t seed);

}  // namespace ppi::inference::test
