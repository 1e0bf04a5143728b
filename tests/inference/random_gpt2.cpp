#include "random_gpt2.hpp"

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ppi::inference::test {

void write_random_gpt2(const std::filesystem::path& dir, const RandomGpt2& t, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  model::SafeTensors st;
  auto add = [&](const std::string& name, std::vector<std::uint64_t> shape, double mean,
                 double sd) {
    std::size_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<double> v(n);
    for (double& x : v) x = mean + sd * normal(rng);
    st.tensors[name] = model::Tensor::from_doubles(t.dtype, std::move(shape), v);
  };
  const auto d = static_cast<std::uint64_t>(t.d);
  add("wte.weight", {static_cast<std::uint64_t>(t.vocab), d}, 0, 0.3);
  add("wpe.weight", {static_cast<std::uint64_t>(t.positions), d}, 0, 0.1);
  for (int l = 0; l < t.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    add(p + "ln_1.weight", {d}, 1, 0.1);
    add(p + "ln_1.bias", {d}, 0, 0.05);
    add(p + "attn.c_attn.weight", {d, 3 * d}, 0, 0.25);
    add(p + "attn.c_attn.bias", {3 * d}, 0, 0.05);
    add(p + "attn.c_proj.weight", {d, d}, 0, 0.1);
    add(p + "attn.c_proj.bias", {d}, 0, 0.05);
    add(p + "ln_2.weight", {d}, 1, 0.1);
    add(p + "ln_2.bias", {d}, 0, 0.05);
    add(p + "mlp.c_fc.weight", {d, 4 * d}, 0, 0.2);
    add(p + "mlp.c_fc.bias", {4 * d}, 0, 0.1);
    add(p + "mlp.c_proj.weight", {4 * d, d}, 0, 0.1);
    add(p + "mlp.c_proj.bias", {d}, 0, 0.05);
  }
  add("ln_f.weight", {d}, 1, 0.1);
  add("ln_f.bias", {d}, 0, 0.05);
  model::write_safetensors(dir / "model.safetensors", st);
  const nlohmann::json config = {{"n_layer", t.layers},
                                 {"n_head", t.heads},
                                 {"n_embd", t.d},
                                 {"n_positions", t.positions},
                                 {"vocab_size", t.vocab},
                                 {"layer_norm_epsilon", 1e-5},
                                 {"activation_function", "gelu_new"}};
  std::ofstream(dir / "config.json") << config.dump(2) << "\n";
}

}  // namespace ppi::inference::test
