// The private MLP classifier (common/inference) on the committed digits model: the model owner
// and the client in two threads of this process over the in-memory channel, each on its 2PC
// share of a TEST FIXTURE batch (a trusted dealer, converted as the real conversion does). One
// JSON line per batch size: latency of the online phase, rounds, bytes each way, material
// elements consumed, and the ratio to the plaintext fixed-point forward pass of the same model
// on the same machine. Material is made before both parties start and is not timed; network
// latency is zero here, so the figures are the computation and the in-process message passing.
//
//   bench_inference_mlp [reps [model_dir]]   (best of reps runs per size, default 20; the
//                                           directory of models/digits_mlp)

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "bench_util.hpp"
#include "inference/mlp_program.hpp"
#include "model/mlp.hpp"
#include "model/reference.hpp"
#include "model/safetensors.hpp"
#include "private_mlp.hpp"

using namespace ppi;

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";

void bench_rows(const model::MlpGraph& g, const std::vector<double>& samples, std::size_t rows,
                int reps) {
  const bool reveal_logits = false;
  std::vector<double> x(samples.begin(),
                        samples.begin() + static_cast<std::ptrdiff_t>(rows * g.input_dim));
  const std::vector<u64> encoded = model::encode_inputs(g, x);
  const inference::MlpShape shape = inference::MlpShape::of(g);
  const material::MaterialPlan plan = inference::mlp_plan(shape, rows, reveal_logits);

  double best = 1e300;
  inference::test::PrivateRun run;
  for (int r = 0; r < reps; ++r) {
    run = inference::test::run_private_mlp(g, encoded, rows, reveal_logits, &plan);
    best = std::min(best, run.seconds);
  }
  if (run.material_left_mo != 0 || run.material_left_client != 0) {
    std::fprintf(stderr, "material left over: the plan is not what the program consumes\n");
    std::exit(1);
  }
  // The plaintext reference is fast: repeat it so the clock resolves it.
  const int inner = 100;
  const double plain = bench::best_seconds(reps,
                                           [&] {
                                             for (int i = 0; i < inner; ++i)
                                               model::fixed_point_forward(g, encoded, rows);
                                           }) /
                       inner;
  std::printf(
      "{\"bench\":\"inference_mlp\",\"model\":\"digits_mlp 64-32-16-10\",\"rows\":%zu,"
      "\"reveal_logits\":%s,\"private_seconds\":%.6f,\"plaintext_fixed_point_seconds\":%.9f,"
      "\"ratio\":%.0f,\"rounds\":%llu,\"bytes_mo_to_client\":%llu,\"bytes_client_to_mo\":%llu,"
      "\"material_elements\":%llu,\"plan_items\":%zu,\"reps\":%d,"
      "\"timing\":\"best of reps; material made beforehand, not timed; in-process channel\"}\n",
      rows, reveal_logits ? "true" : "false", best, plain, best / plain,
      static_cast<unsigned long long>(run.rounds),
      static_cast<unsigned long long>(run.bytes_mo_to_client),
      static_cast<unsigned long long>(run.bytes_client_to_mo),
      static_cast<unsigned long long>(plan.element_count()), plan.items().size(), reps);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  if (reps < 1) {
    std::fprintf(stderr, "usage: bench_inference_mlp [reps >= 1]\n");
    return 2;
  }
  const std::filesystem::path dir =
      argc > 2 ? std::filesystem::path(argv[2])
               : std::filesystem::path(PPI_SOURCE_DIR) / "models/digits_mlp";
  const model::MlpGraph g = model::load_mlp(dir / "model.safetensors");
  const model::SafeTensors st = model::read_safetensors(dir / "test_inputs.safetensors");
  const auto in = st.tensor("inputs").to_doubles();
  const std::vector<double> samples(in.begin(), in.end());
  bench_rows(g, samples, 1, reps);
  bench_rows(g, samples, 64, reps);
  return 0;
}
