// The dealers' generation protocol (common/gen) on the in-process mesh: every member of a
// group of n runs in its own thread; each member's CPU time is measured on its own thread
// (CLOCK_THREAD_CPUTIME_ID), so "per dealer" figures are those of the busiest member as if
// each dealer had a core of its own, whatever the number of cores here. Prints JSON lines.
//
// Flags (all optional): --parties=3,10 --triples=200000 --dabits=100000 --truncs=4000
//   --m=128 --k=768 --n=768 --reps=3 --retain-memory=1 --plan=FILE [--mask-plan=FILE]
// --plan generates that one plan (canonical JSON, e.g. from bench_inference_gpt2
// --write-plans) instead of the per-type runs: a whole inference's material, with its
// MASKED_TRIPLEs made from the mask plan's masks when --mask-plan names it.
// --retain-memory=1 keeps freed memory in the process (mallopt: no mmap below 32 MiB, no
// trimming), as a long-running dealer generating batch after batch would: otherwise every
// generation faults in its tens of MiB of buffers afresh, which on a virtualized host costs
// as much as the products. The first repetition still pays it; the best of --reps is kept.
// Keys come from the TEST FIXTURE of tests/gen (one process holds every member's keys).
#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "compute/ring_kernels.hpp"
#include "crypto/csprng.hpp"
#include "gen/gemm128.hpp"
#include "gen/generate.hpp"
#include "gen/local_mesh.hpp"
#include "group_keys_fixture.hpp"
#include "material/plan.hpp"

namespace {

using namespace ppi;

struct Options {
  std::vector<std::size_t> parties{3, 10};
  std::uint64_t triples = 200000, dabits = 100000, truncs = 4000;
  std::size_t m = 128, k = 768, n = 768;
  int reps = 3;
  bool retain_memory = true;
  std::string plan_file, mask_plan_file;
};

std::uint64_t parse_u64(std::string_view flag, std::string_view v) {
  try {
    std::size_t used = 0;
    const auto x = std::stoull(std::string(v), &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  std::fprintf(stderr, "bad value for %.*s\n", static_cast<int>(flag.size()), flag.data());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    const auto eq = a.find('=');
    const std::string_view key = a.substr(0, eq), v = eq == a.npos ? "" : a.substr(eq + 1);
    if (key == "--parties") {
      o.parties.clear();
      for (std::size_t p = 0; p <= v.size();) {
        const auto c = std::min(v.find(',', p), v.size());
        o.parties.push_back(parse_u64(key, v.substr(p, c - p)));
        p = c + 1;
      }
    } else if (key == "--triples") {
      o.triples = parse_u64(key, v);
    } else if (key == "--dabits") {
      o.dabits = parse_u64(key, v);
    } else if (key == "--truncs") {
      o.truncs = parse_u64(key, v);
    } else if (key == "--m") {
      o.m = parse_u64(key, v);
    } else if (key == "--k") {
      o.k = parse_u64(key, v);
    } else if (key == "--n") {
      o.n = parse_u64(key, v);
    } else if (key == "--retain-memory") {
      o.retain_memory = parse_u64(key, v) != 0;
    } else if (key == "--reps") {
      o.reps = static_cast<int>(parse_u64(key, v));
    } else if (key == "--plan") {
      o.plan_file = v;
    } else if (key == "--mask-plan") {
      o.mask_plan_file = v;
    } else {
      std::fprintf(stderr, "unknown flag %s (see the comment at the top of the source)\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Run {
  double busiest_cpu = 0, wall = 0;
  std::uint64_t max_sent = 0, total_sent = 0;
};

// One generation of `plan` by every member; the best of `reps` by the busiest member's CPU.
Run generate(const material::MaterialPlan& plan, const std::vector<gen::GroupKeys>& keys, int reps,
             const std::optional<material::MaterialPlan>& mask_plan = std::nullopt) {
  Run best;
  best.busiest_cpu = 1e300;
  for (int r = 0; r < reps; ++r) {
    gen::LocalMeshHub hub(keys.size(), std::chrono::minutes(5));
    std::vector<double> cpu(keys.size());
    std::vector<std::thread> threads;
    const gen::GenerationContext ctx{"bench-group", "bench-model", "batch-" + std::to_string(r),
                                     mask_plan};
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      threads.emplace_back([&, i] {
        const double c0 = thread_cpu_seconds();
        Bytes share = gen::generate_batch(plan, keys[i], ctx, hub.member(i));
        cpu[i] = thread_cpu_seconds() - c0;
        cleanse(share);
      });
    }
    for (auto& t : threads) t.join();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
    Run run;
    run.busiest_cpu = *std::max_element(cpu.begin(), cpu.end());
    run.wall = wall.count();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      run.max_sent = std::max(run.max_sent, hub.member(i).bytes_sent());
      run.total_sent += hub.member(i).bytes_sent();
    }
    if (run.busiest_cpu < best.busiest_cpu) best = run;
  }
  return best;
}

void print_tuples(const char* what, std::size_t parties, std::uint64_t count, const Run& r) {
  std::printf(
      "{\"bench\":\"generation\",\"what\":\"%s\",\"parties\":%zu,\"tuples\":%llu,"
      "\"busiest_dealer_cpu_s\":%.6g,\"wall_s\":%.6g,\"tuples_per_s_per_dealer\":%.6g,"
      "\"bytes_sent_per_tuple_max_dealer\":%.4g,\"bytes_sent_per_tuple_mean_dealer\":%.4g}\n",
      what, parties, static_cast<unsigned long long>(count), r.busiest_cpu, r.wall,
      static_cast<double>(count) / r.busiest_cpu,
      static_cast<double>(r.max_sent) / static_cast<double>(count),
      static_cast<double>(r.total_sent) / static_cast<double>(parties) /
          static_cast<double>(count));
}

material::MaterialPlan one_item(const std::string& type, std::uint64_t count) {
  return material::MaterialPlan({{material::parse_material_type(type), count}});
}

}  // namespace

material::MaterialPlan read_plan(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return material::MaterialPlan::parse(text.str());
}

// One whole plan per party count: the busiest dealer's CPU, the wall time, bytes sent.
int generate_plan_file(const Options& o) {
  const material::MaterialPlan plan = read_plan(o.plan_file);
  std::optional<material::MaterialPlan> masks;
  if (!o.mask_plan_file.empty()) masks = read_plan(o.mask_plan_file);
  for (std::size_t parties : o.parties) {
    const auto keys = gen::test_fixture::make_group_keys(parties);
    const Run r = generate(plan, keys, o.reps, masks);
    std::printf(
        "{\"bench\":\"generation\",\"what\":\"plan\",\"plan\":\"%s\",\"parties\":%zu,"
        "\"elements\":%llu,\"busiest_dealer_cpu_s\":%.6g,\"wall_s\":%.6g,"
        "\"bytes_sent_max_dealer\":%llu,\"bytes_sent_mean_dealer\":%.6g}\n",
        o.plan_file.c_str(), parties, static_cast<unsigned long long>(plan.element_count()),
        r.busiest_cpu, r.wall, static_cast<unsigned long long>(r.max_sent),
        static_cast<double>(r.total_sent) / static_cast<double>(parties));
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.retain_memory) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  if (!o.plan_file.empty()) return generate_plan_file(o);
  const std::string mt = "MATRIX_TRIPLE_" + std::to_string(o.m) + "_" + std::to_string(o.k) + "_" +
                         std::to_string(o.n);

  // The products a dealer cannot avoid, on this core: one m x k x n GEMM in Z_2^128 (the
  // limb-split kernel generation uses, and the plain scalar loop) and in Z_2^64.
  std::vector<u128> a(o.m * o.k), b(o.k * o.n), c(o.m * o.n);
  for (auto& x : a) x = random_u128();
  for (auto& x : b) x = random_u128();
  const double g128 =
      bench::best_seconds(o.reps, [&] { gen::gemm_z2_128(a, b, c, o.m, o.k, o.n); });
  const double g128_scalar =
      bench::best_seconds(1, [&] { gen::gemm_z2_128_scalar(a, b, c, o.m, o.k, o.n); });
  std::vector<std::uint64_t> a64(a.begin(), a.end()), b64(b.begin(), b.end()), c64(o.m * o.n);
  auto cpu = compute::make_cpu_kernels();
  const double g64 = bench::best_seconds(o.reps, [&] { cpu->gemm(a64, b64, c64, o.m, o.k, o.n); });
  std::printf(
      "{\"bench\":\"generation\",\"what\":\"gemm\",\"shape\":\"%zux%zux%zu\","
      "\"z2_128_s\":%.6g,\"z2_128_backend\":\"%s\",\"z2_128_scalar_s\":%.6g,"
      "\"z2_64_s\":%.6g,\"z2_64_backend\":\"%s\",\"retain_memory\":%s}\n",
      o.m, o.k, o.n, g128, gen::gemm_z2_128_backend().c_str(), g128_scalar, g64,
      cpu->name().c_str(), o.retain_memory ? "true" : "false");

  for (std::size_t parties : o.parties) {
    const auto keys = gen::test_fixture::make_group_keys(parties);
    print_tuples("triple", parties, o.triples,
                 generate(one_item("TRIPLE", o.triples), keys, o.reps));
    print_tuples("dabit", parties, o.dabits, generate(one_item("DABIT", o.dabits), keys, o.reps));
    print_tuples("trunc_16", parties, o.truncs,
                 generate(one_item("TRUNC_16", o.truncs), keys, o.reps));
    const Run r = generate(one_item(mt, 1), keys, o.reps);
    std::printf(
        "{\"bench\":\"generation\",\"what\":\"%s\",\"parties\":%zu,"
        "\"busiest_dealer_cpu_s\":%.6g,\"wall_s\":%.6g,\"ratio_to_z2_128_gemm\":%.3f,"
        "\"ratio_to_z2_128_scalar_gemm\":%.3f,\"ratio_to_z2_64_gemm\":%.3f,"
        "\"bytes_sent_max_dealer\":%llu,\"bytes_sent_mean_dealer\":%.6g}\n",
        mt.c_str(), parties, r.busiest_cpu, r.wall, r.busiest_cpu / g128,
        r.busiest_cpu / g128_scalar, r.busiest_cpu / g64,
        static_cast<unsigned long long>(r.max_sent),
        static_cast<double>(r.total_sent) / static_cast<double>(parties));
    std::fflush(stdout);
  }
  return 0;
}
