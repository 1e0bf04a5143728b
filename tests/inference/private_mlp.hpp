#pragma once
// Test harness: one private MLP inference, the model owner and the client in two threads over a
// local channel pair, each on its 2PC share of a TEST FIXTURE batch (tests/support's trusted
// dealer, converted as the real conversion does). Shared by inference_tests and
// bench_inference_mlp.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "inference/mlp_program.hpp"
#include "material/plan.hpp"
#include "model/mlp.hpp"

namespace ppi::inference::test {

struct PrivateRun {
  MlpResult model_owner, client;
  // Traffic of the program alone (the start-up handshake excluded).
  std::uint64_t rounds = 0;
  std::uint64_t bytes_mo_to_client = 0, bytes_client_to_mo = 0;
  std::uint64_t material_left_mo = 0, material_left_client = 0;  // instances not consumed
  // The client's wall time from both parties ready to its result (the last message of the
  // program goes to the client, so this is the inference's latency).
  double seconds = 0;
};

// Runs the graph on `inputs` (rows x input_dim, encoded with the graph's f) with a batch of
// `plan` (mlp_plan(...) when nullptr). The batch is made before both parties start and is not
// in `seconds`. Rethrows the first party's real error.
PrivateRun run_private_mlp(const model::MlpGraph& g, std::span<const u64> inputs, std::size_t rows,
                           bool reveal_logits, const material::MaterialPlan* plan = nullptr);

// The documented bound on |private logit - fixed-point reference logit| in ulps, per class. A
// truncation gives floor(P / 2^f) or one more; an input error of e ulps moves P / 2^f by at most
// e sum_j |W_jk| / 2^f, hence its floor by at most the ceiling of that: per Linear
// e_out(k) = ceil(sum_j e_in(j) |W_jk| / 2^f) + 1; ReLU passes errors through unchanged; inputs
// are exact (e = 0). With one Linear this is the 1-ulp bound itself.
std::vector<std::uint64_t> logit_error_bound(const model::MlpGraph& g);

}  // namespace ppi::inference::test
