// The private GPT-2 pass: both roles in two threads on TEST FIXTURE material, against the float
// model and the plaintext fixed-point reference; the committed tiny model against its Python
// reference; the recorded plan against what a batch of it holds; bad options refused before
// anything is sent.

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "inference/gpt2_reference.hpp"
#include "model/safetensors.hpp"
#include "private_gpt2.hpp"
#include "random_gpt2.hpp"
#include "ring/fixed_point.hpp"

using namespace ppi;
using namespace ppi::inference;
using ppi::inference::test::Gpt2TwoParty;
using ppi::inference::test::RandomGpt2;
using ppi::inference::test::write_random_gpt2;

namespace {

struct LoadedModel {
  model::Gpt2Weights weights;
  model::Gpt2Shape shape;
  model::Gpt2FixedWeights fixed;
};

LoadedModel load(const std::filesystem::path& dir, int frac_bits) {
  LoadedModel m{model::load_gpt2(dir), {}, {}};
  m.fixed = model::encode_gpt2(model::fold_gpt2(m.weights), frac_bits);
  m.shape = model::Gpt2Shape::of(m.fixed);
  return m;
}

std::filesystem::path temp_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("ppi-gpt2-" + name + "-" + std::to_string(::getpid()));
}

std::vector<std::uint32_t> random_tokens(std::size_t n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, vocab - 1);
  std::vector<std::uint32_t> t(n);
  for (auto& x : t) x = static_cast<std::uint32_t>(dist(rng));
  return t;
}

double decode(u64 v, int f) {
  return FixedPoint(f).decode(v);
}

}  // namespace

TEST_CASE("private GPT-2 pass, every position: top-1 of the float model, logits within bound") {
  const RandomGpt2 dims;
  const auto dir = temp_dir("random");
  write_random_gpt2(dir, dims, 11);
  const LoadedModel m = load(dir, 16);
  Gpt2TwoParty parties(m.shape, m.fixed);
  const std::vector<std::uint32_t> tokens = random_tokens(13, dims.vocab, 5);
  Gpt2PassOptions o;
  o.bucket = 16;
  o.output = Gpt2PassOptions::Output::all;
  o.reveal_logits = true;
  const test::Gpt2PassRun run = parties.pass(tokens, o);

  REQUIRE(run.client.rows == 16);
  CHECK(run.model_owner.top.empty());  // the model owner learns nothing
  CHECK(run.model_owner.logits.empty());
  const std::vector<double> ref = model::gpt2_float_forward(m.weights, tokens);
  const std::vector<u64> fixed = gpt2_fixed_forward(m.shape, m.fixed, tokens, o);
  const std::size_t v = static_cast<std::size_t>(dims.vocab);
  double worst_float = 0, worst_fixed = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const auto row = std::span<const double>(ref).subspan(t * v, v);
    const auto best =
        static_cast<std::uint32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    CHECK_MESSAGE(run.client.top[t] == best, "position " << t);
    for (std::size_t j = 0; j < v; ++j) {
      const double priv = decode(run.client.logits[t * v + j], 16);
      worst_float = std::max(worst_float, std::abs(priv - row[j]));
      worst_fixed = std::max(worst_fixed, std::abs(priv - decode(fixed[t * v + j], 16)));
    }
  }
  MESSAGE("max |private - float| logit error: " << worst_float
                                                << ", against fixed point: " << worst_fixed);
  CHECK(worst_float < 0.05);
  CHECK(worst_fixed < 0.02);
  std::filesystem::remove_all(dir);
}
