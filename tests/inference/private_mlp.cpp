#include "private_mlp.hpp"

#include <chrono>
#include <cstdlib>
#include <utility>
#include <variant>

#include "two_party.hpp"

namespace ppi::inference::test {

PrivateRun run_private_mlp(const model::MlpGraph& g, std::span<const u64> inputs, std::size_t rows,
                           bool reveal_logits, const material::MaterialPlan* plan) {
  const MlpShape shape = MlpShape::of(g);
  const material::MaterialPlan own_plan =
      plan != nullptr ? *plan : mlp_plan(shape, rows, reveal_logits);
  PrivateRun run;
  std::uint64_t start_rounds = 0;
  const mpc::test::Program program = [&](mpc::Party& p) -> std::vector<mpc::Shares> {
    // An empty exchange first, so the clock starts when both parties are ready.
    p.channel().exchange(std::span<const u64>());
    const auto start = std::chrono::steady_clock::now();
    if (p.is_model_owner()) start_rounds = p.channel().rounds();
    if (p.is_model_owner()) {
      run.model_owner = run_mlp_model_owner(p, g, rows, reveal_logits);
    } else {
      run.client = run_mlp_client(p, shape, inputs, rows, reveal_logits);
      run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return {};
  };
  const mpc::test::TwoPartyRun two = mpc::test::run_two_party(own_plan, program, g.frac_bits);
  run.rounds = two.mo.rounds - start_rounds;
  // The empty exchange sent no bytes, so the counters are the program's.
  run.bytes_mo_to_client = two.mo.bytes_sent;
  run.bytes_client_to_mo = two.client.bytes_sent;
  run.material_left_mo = two.mo.material_left;
  run.material_left_client = two.client.material_left;
  return run;
}

std::vector<std::uint64_t> logit_error_bound(const model::MlpGraph& g) {
  std::vector<std::uint64_t> e(g.input_dim, 0);
  for (const model::Layer& layer : g.layers) {
    const auto* lin = std::get_if<model::Linear>(&layer);
    if (lin == nullptr) continue;
    std::vector<std::uint64_t> next(lin->out, 0);
    for (std::size_t k = 0; k < lin->out; ++k) {
      unsigned __int128 sum = 0;
      for (std::size_t j = 0; j < lin->in; ++j) {
        const auto w = static_cast<std::int64_t>(lin->weight_fixed[j * lin->out + k]);
        sum += static_cast<unsigned __int128>(e[j]) * static_cast<std::uint64_t>(std::llabs(w));
      }
      const unsigned __int128 unit = static_cast<unsigned __int128>(1) << g.frac_bits;
      next[k] = static_cast<std::uint64_t>((sum + unit - 1) / unit) + 1;
    }
    e = std::move(next);
  }
  return e;
}

}  // namespace ppi::inference::test
