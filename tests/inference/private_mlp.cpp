#include "private_mlp.hpp"

#include <chrono>

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

}  // namespace ppi::inference::test
