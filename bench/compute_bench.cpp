// The Z_2^64 ring kernels (compute/ring_kernels.hpp) on every backend present: CPU always, CUDA
// when a device is there. Each result is compared bit for bit before it is timed (CUDA with the
// CPU's, every CPU kernel with the scalar one's), so a figure is never printed for a kernel that
// computes something else.
//   bench_compute [--big] [--threads N] [--kernel scalar|avx2|avx512] [--shape MxKxN]
//     CPU: {"bench":"cpu_gemm","kernel":..,"threads":..,"m":..,"gmacs_per_s":..,"cpu":..}
//     per supported kernel, one thread and all (hardware_concurrency), the model's shapes
//     (--big adds 4096^3); the median of the timed runs. Then the elementwise product.
//     CUDA: {"bench":"compute","backend":..,"op":..,"equal_to_cpu":..}
// Needs only compute/ and core/error: bench/cuda_device_check.sh builds it on a GPU machine with
// nvcc and g++ alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "compute/cpu_gemm.hpp"
#include "compute/ring_kernels.hpp"

namespace {

using ppi::compute::CpuGemmKernel;
using ppi::compute::RingKernels;
using ppi::compute::u64;

std::vector<u64> random_words(std::size_t n, u64 seed) {
  std::mt19937_64 g(seed);  // benchmark data, not secrets
  std::vector<u64> v(n);
  for (auto& x : v) x = g();
  return v;
}

template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void run(RingKernels& k, RingKernels* reference, int reps) {
  const std::size_t dims[][3] = {{64, 64, 32}, {128, 768, 768}, {1024, 1024, 1024}};
  for (const auto& d : dims) {
    const std::size_t m = d[0], kk = d[1], n = d[2];
    auto a = random_words(m * kk, 1), b = random_words(kk * n, 2);
    std::vector<u64> c(m * n), c_ref(m * n);
    k.gemm(a, b, c, m, kk, n);
    bool equal = true;
    if (reference != nullptr) {
      reference->gemm(a, b, c_ref, m, kk, n);
      equal = c == c_ref;
    }
    const double s = best_seconds(reps, [&] { k.gemm(a, b, c, m, kk, n); });
    std::printf(
        "{\"bench\":\"compute\",\"backend\":\"%s\",\"op\":\"gemm\",\"m\":%zu,\"k\":%zu,\"n\":%zu,"
        "\"seconds\":%.6f,\"gops\":%.3f,\"equal_to_cpu\":%s}\n",
        k.name().c_str(), m, kk, n, s, 2.0 * double(m) * double(kk) * double(n) / s / 1e9,
        equal ? "true" : "false");
  }
  for (std::size_t n : {std::size_t{1} << 16, std::size_t{1} << 24}) {
    const std::vector<u64> xs = random_words(n, 3), ys = random_words(n, 4);
    std::vector<u64> out(n), ref(n);
    k.mul(xs, ys, out);
    bool equal = true;
    if (reference != nullptr) {
      reference->mul(xs, ys, ref);
      equal = out == ref;
    }
    const double s = best_seconds(reps, [&] { k.mul(xs, ys, out); });
    std::printf(
        "{\"bench\":\"compute\",\"backend\":\"%s\",\"op\":\"mul\",\"elements\":%zu,"
        "\"seconds\":%.6f,\"equal_to_cpu\":%s}\n",
        k.name().c_str(), n, s, equal ? "true" : "false");
  }
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      std::string model = colon == std::string::npos ? line : line.substr(colon + 1);
      model.erase(0, model.find_first_not_of(' '));
      std::replace(model.begin(), model.end(), '"', '\'');
      return model;
    }
  }
  return "unknown";
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

struct Timing {
  double wall = 0, cpu = 0;  // medians, seconds; cpu: all threads of the process
  int runs = 0;
};

// Medians of the timed runs: the machine is shared, so the best run flatters and the mean
// carries the outliers; the CPU time is the less disturbed by other processes. At least
// min_runs runs and 0.5 s.
template <class F>
Timing median_seconds(F&& f, std::size_t min_runs = 5) {
  std::vector<double> walls, cpus;
  double total = 0;
  while (walls.size() < min_runs || (total < 0.5 && walls.size() < 200)) {
    const double c0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpus.push_back(process_cpu_seconds() - c0);
    total += walls.back();
  }
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  return {walls[walls.size() / 2], cpus[cpus.size() / 2], static_cast<int>(walls.size())};
}

struct Shape {
  std::size_t m, k, n;
};

struct CpuOptions {
  bool big = false;
  std::vector<unsigned> threads;
  std::optional<CpuGemmKernel> kernel;
  std::vector<Shape> shapes;
};

void run_cpu(const CpuOptions& o) {
  const std::string cpu = cpu_model();
  std::vector<Shape> shapes = o.shapes;
  if (shapes.empty()) {
    shapes = {{64, 64, 64},     {16, 128, 384},  {64, 768, 768},  {128, 768, 768},
              {64, 768, 2304},  {64, 768, 3072}, {64, 3072, 768}, {1, 768, 50257},
              {64, 128, 50257}, {64, 50257, 128}};
    if (o.big) shapes.push_back({4096, 4096, 4096});
  }
  std::vector<CpuGemmKernel> kernels = ppi::compute::supported_cpu_gemm_kernels();
  if (o.kernel) kernels = {*o.kernel};
  for (const Shape& s : shapes) {
    const auto a = random_words(s.m * s.k, 1), b = random_words(s.k * s.n, 2);
    std::vector<u64> ref(s.m * s.n), c(s.m * s.n);
    // The scalar kernel's result is the reference; at 4096^3 (a minute there) the scalar kernel
    // is not run and the first vector kernel's result is the reference, so that one is
    // unchecked (the unit tests check it on the model's shapes).
    const bool huge = double(s.m) * double(s.k) * double(s.n) > 1e10;
    std::optional<CpuGemmKernel> reference_kernel;
    if (!huge) reference_kernel = CpuGemmKernel::scalar;
    bool have_ref = false;
    if (reference_kernel) {
      ppi::compute::make_cpu_kernels({.kernel = reference_kernel, .threads = 1})
          ->gemm(a, b, ref, s.m, s.k, s.n);
      have_ref = true;
    }
    for (CpuGemmKernel kernel : kernels) {
      if (huge && kernel == CpuGemmKernel::scalar && kernels.size() > 1) continue;
      for (unsigned threads : o.threads) {
        auto k = ppi::compute::make_cpu_kernels({.kernel = kernel, .threads = threads});
        k->gemm(a, b, c, s.m, s.k, s.n);
        const char* equal = "null";
        if (have_ref) {
          equal = c == ref ? "true" : "false";
        } else {
          ref = c;
          have_ref = true;
        }
        const Timing t = median_seconds([&] { k->gemm(a, b, c, s.m, s.k, s.n); }, huge ? 3 : 5);
        const double gmacs = double(s.m) * double(s.k) * double(s.n) / 1e9;
        std::printf(
            "{\"bench\":\"cpu_gemm\",\"kernel\":\"%s\",\"threads\":%u,\"m\":%zu,\"k\":%zu,"
            "\"n\":%zu,\"median_seconds\":%.6f,\"median_cpu_seconds\":%.6f,\"runs\":%d,"
            "\"gmacs_per_s\":%.3f,\"gmacs_per_cpu_s\":%.3f,\"equal_to_scalar\":%s,"
            "\"cpu\":\"%s\"}\n",
            k->name().c_str(), threads, s.m, s.k, s.n, t.wall, t.cpu, t.runs, gmacs / t.wall,
            gmacs / t.cpu, equal, cpu.c_str());
        std::fflush(stdout);
      }
    }
  }
  for (std::size_t n : {std::size_t{1} << 16, std::size_t{1} << 24}) {
    const std::vector<u64> xs = random_words(n, 3), ys = random_words(n, 4);
    std::vector<u64> out(n), ref(n);
    ppi::compute::make_cpu_kernels({.kernel = CpuGemmKernel::scalar})->mul(xs, ys, ref);
    for (CpuGemmKernel kernel : kernels) {
      auto k = ppi::compute::make_cpu_kernels({.kernel = kernel});
      k->mul(xs, ys, out);
      const Timing t = median_seconds([&] { k->mul(xs, ys, out); });
      std::printf(
          "{\"bench\":\"cpu_mul\",\"kernel\":\"%s\",\"elements\":%zu,\"median_seconds\":%.6f,"
          "\"runs\":%d,\"gwords_per_s\":%.3f,\"equal_to_scalar\":%s,\"cpu\":\"%s\"}\n",
          k->name().c_str(), n, t.wall, t.runs, double(n) / t.wall / 1e9,
          out == ref ? "true" : "false", cpu.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CpuOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--big") {
      o.big = true;
    } else if (arg == "--threads" && next != nullptr) {
      o.threads.push_back(static_cast<unsigned>(std::stoul(next)));
      ++i;
    } else if (arg == "--kernel" && next != nullptr) {
      for (auto id : {CpuGemmKernel::scalar, CpuGemmKernel::avx2, CpuGemmKernel::avx512}) {
        if (ppi::compute::cpu_gemm_kernel_name(id) == next) o.kernel = id;
      }
      if (!o.kernel) {
        std::fprintf(stderr, "unknown kernel %s\n", next);
        return 2;
      }
      ++i;
    } else if (arg == "--shape" && next != nullptr) {
      Shape s{};
      if (std::sscanf(next, "%zux%zux%zu", &s.m, &s.k, &s.n) != 3) {
        std::fprintf(stderr, "bad shape %s (MxKxN)\n", next);
        return 2;
      }
      o.shapes.push_back(s);
      ++i;
    } else {
      std::fprintf(
          stderr,
          "usage: bench_compute [--big] [--threads N]... [--kernel K] [--shape MxKxN]...\n");
      return 2;
    }
  }
  if (o.threads.empty()) {
    o.threads.push_back(1);
    if (const unsigned hw = std::thread::hardware_concurrency(); hw > 1) o.threads.push_back(hw);
  }
  run_cpu(o);
  auto cpu = ppi::compute::make_cpu_kernels();
  if (ppi::compute::cuda_device_count() > 0) {
    auto gpu = ppi::compute::make_cuda_kernels();
    run(*gpu, cpu.get(), 5);
    auto best = ppi::compute::make_best_kernels();  // small GEMMs on the CPU, large on CUDA
    run(*best, cpu.get(), 5);
  } else {
    std::printf("{\"bench\":\"compute\",\"backend\":\"cuda\",\"skipped\":\"no CUDA device\"}\n");
  }
  return 0;
}
