// The private GPT-2 forward pass (common/inference/gpt2_program) at GPT-2-small shape with random
// weights: the model owner and the client in two threads of this process over the in-memory
// channel, material from the tests' TEST FIXTURE dealer (a trusted dealer, never an actor),
// made before the timed pass. One JSON line per pass:
//   {"bench": "gpt2_pass", "first_pass": true|false, "tokens": T, "layers": L, ...,
//    "seconds": online latency of the pass (the client's wall time), "rounds",
//    "bytes_mo_to_client", "bytes_client_to_mo", "material_elements" (of a later pass: the plan's
//    element count), "material_bytes_per_party" (32 bytes per element, the batch layout),
//    "kernels"}
// The first pass of the session also shares every weight matrix (F = W - B, model owner to
// client): it is reported apart; later passes take per-inference material only. Network
// latency is zero here: the figures are computation and in-process message passing.
//
//   bench_inference_gpt2 [--layers 12] [--d 768] [--heads 12] [--vocab 50257]
//                        [--positions 1024] [--tokens 32,64,128] [--reps 1] [--write-plans DIR]
//                        [--steps N]
// --write-plans writes, per length T, DIR/gpt2_T_first.json (a session's first pass, weight
// masks included), DIR/gpt2_T_later.json (a later pass) and DIR/gpt2_T_masks.json (the mask
// plan) and exits: plans for bench_generation --plan / --mask-plan. With --steps N the plans
// are a generation's, a pass and N steps (gpt2_T_stepsN_later.json, _masks.json), and there is
// no first pass.

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/malloc_tuning.hpp"
#include "bench_util.hpp"
#include "compute/ring_kernels.hpp"
#include "inference/gpt2_program.hpp"
#include "material/mask_pairing.hpp"
#include "model/gpt2.hpp"
#include "private_gpt2.hpp"
#include "random_gpt2.hpp"

using namespace ppi;

namespace {

// Elements of the plan per kind of material, as a JSON object.
std::string by_kind(const material::MaterialPlan& plan) {
  std::map<std::string, std::uint64_t> elements;
  for (const material::PlanItem& item : plan.items()) {
    std::string name = material::to_string(item.type);
    name = name.substr(0, name.find_first_of("0123456789"));
    if (!name.empty() && name.back() == '_') name.pop_back();
    elements[name] += item.count * material::elements_per_item(item.type);
  }
  std::string out = "{";
  for (const auto& [name, count] : elements) {
    out += (out.size() > 1 ? ", \"" : "\"") + name + "\": " + std::to_string(count);
  }
  return out + "}";
}

void print_pass(const inference::test::RandomGpt2& m, std::uint32_t t, bool first,
                const inference::test::Gpt2PassRun& run, const material::MaterialPlan& plan,
                const std::string& kernels) {
  std::printf(
      "{\"bench\": \"gpt2_pass\", \"first_pass\": %s, \"tokens\": %u, \"layers\": %d, \"d\": %d, "
      "\"heads\": %d, \"vocab\": %d, \"seconds\": %.4f, \"rounds\": %llu, "
      "\"bytes_mo_to_client\": %llu, \"bytes_client_to_mo\": %llu, \"material_elements\": %llu, "
      "\"material_bytes_per_party\": %llu, \"material_by_kind\": %s, \"minor_page_faults\": %llu, "
      "\"kernels\": \"%s\"}\n",
      first ? "true" : "false", t, m.layers, m.d, m.heads, m.vocab, run.seconds,
      static_cast<unsigned long long>(run.rounds),
      static_cast<unsigned long long>(run.bytes_mo_to_client),
      static_cast<unsigned long long>(run.bytes_client_to_mo),
      static_cast<unsigned long long>(plan.element_count()),
      static_cast<unsigned long long>(plan.element_count() * 32), by_kind(plan).c_str(),
      static_cast<unsigned long long>(run.minor_faults), kernels.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  app::tune_malloc_for_online();
  inference::test::RandomGpt2 m{12, 12, 768, 50257, 1024, model::DType::F16};
  std::vector<std::uint32_t> lengths{32, 64, 128};
  int reps = 1;
  std::uint32_t steps = 0;
  std::string plans_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--layers")
      m.layers = std::stoi(value);
    else if (key == "--d")
      m.d = std::stoi(value);
    else if (key == "--heads")
      m.heads = std::stoi(value);
    else if (key == "--vocab")
      m.vocab = std::stoi(value);
    else if (key == "--positions")
      m.positions = std::stoi(value);
    else if (key == "--tokens")
      lengths = bench::parse_u32_list(value);
    else if (key == "--reps")
      reps = std::stoi(value);
    else if (key == "--write-plans")
      plans_dir = value;
    else if (key == "--steps")
      steps = static_cast<std::uint32_t>(std::stoul(value));
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (!plans_dir.empty()) {
    model::Gpt2Shape shape;
    shape.config = {static_cast<std::size_t>(m.layers), static_cast<std::size_t>(m.heads),
                    static_cast<std::size_t>(m.d),      static_cast<std::size_t>(m.positions),
                    static_cast<std::size_t>(m.vocab),  1e-5};
    std::filesystem::create_directories(plans_dir);
    for (std::uint32_t t : lengths) {
      inference::Gpt2PassOptions o;
      o.bucket = t;
      o.steps = steps;
      const std::string name =
          "gpt2_" + std::to_string(t) + (steps > 0 ? "_steps" + std::to_string(steps) : "");
      auto write = [&](const std::string& suffix, const material::MaterialPlan& plan) {
        std::ofstream(std::filesystem::path(plans_dir) / (name + suffix))
            << plan.canonical() << "\n";
        std::printf("{\"plan\": \"%s%s\", \"elements\": %llu}\n", name.c_str(), suffix.c_str(),
                    static_cast<unsigned long long>(plan.element_count()));
      };
      const mpc::RecordedProgram later = inference::record_gpt2(shape, o, true);
      write("_later.json", later.plan);
      write("_masks.json", *later.mask_plan);
      // A generation has no first-pass plan: its batches always pair with a mask set.
      if (steps == 0) write("_first.json", inference::record_gpt2(shape, o).plan);
    }
    return 0;
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("ppi-bench-gpt2-" + std::to_string(::getpid()));
  inference::test::write_random_gpt2(dir, m, 1);
  const model::Gpt2FixedWeights fixed =
      model::encode_gpt2(model::fold_gpt2(model::load_gpt2(dir)), 16);
  std::filesystem::remove_all(dir);
  const model::Gpt2Shape shape = model::Gpt2Shape::of(fixed);
  const std::string kernels = compute::make_cpu_kernels()->name();

  inference::test::Gpt2TwoParty parties(shape, fixed);
  bool first = true;
  for (std::uint32_t t : lengths) {
    inference::Gpt2PassOptions o;
    o.bucket = t;
    const std::vector<std::uint32_t> tokens(t, 464);
    const material::MaterialPlan plan = inference::record_gpt2(shape, o, true).plan;
    const int runs = reps + (first ? 1 : 0);
    for (int r = 0; r < runs; ++r) {
      const inference::test::Gpt2PassRun run = parties.pass(tokens, o);
      print_pass(m, t, first, run, plan, kernels);
      first = false;
    }
  }
  return 0;
}
