// The Z_2^64 ring kernels (compute/ring_kernels.hpp) on every backend present: CPU always, CUDA
// when a device is there. Each CUDA result is compared with the CPU's bit for bit before it is
// timed, so a figure is never printed for a kernel that computes something else.
//   bench_compute            JSON lines: {"bench":"compute","backend":..,"op":..,"equal_to_cpu":..}
// Needs only compute/ and core/error: bench/cuda_device_check.sh builds it on a GPU machine with
// nvcc and g++ alone.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "compute/ring_kernels.hpp"

namespace {

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

}  // namespace

int main() {
  auto cpu = ppi::compute::make_cpu_kernels();
  run(*cpu, nullptr, 2);
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
