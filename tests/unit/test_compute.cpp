#include <doctest/doctest.h>

#include <random>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"

using namespace ppi::compute;

namespace {

std::vector<u64> random_words(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);  // test data only; protocol randomness comes from crypto/
  std::vector<u64> out(count);
  for (auto& w : out) w = rng();
  return out;
}

std::vector<u64> naive_gemm(const std::vector<u64>& a, const std::vector<u64>& b, std::size_t m,
                            std::size_t k, std::size_t n) {
  std::vector<u64> c(m * n, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < k; ++p) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

}  // namespace

TEST_CASE("compute: CPU gemm equals the textbook product mod 2^64, odd shapes included") {
  auto cpu = make_cpu_kernels();
  for (auto [m, k, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1},
                         {3, 300, 5},
                         {17, 33, 9},
                         {64, 512, 64}}) {
    auto a = random_words(m * k, 1), b = random_words(k * n, 2);
    std::vector<u64> c(m * n);
    cpu->gemm(a, b, c, m, k, n);
    CHECK(c == naive_gemm(a, b, m, k, n));
  }
  std::vector<u64> a(6), b(6), c(4);
  CHECK_THROWS_AS(cpu->gemm(a, b, c, 2, 3, 3), ppi::Error);
}

TEST_CASE("compute: wrap-around is the ring's (-1 * -1 = 1, 2^63 * 2 = 0)") {
  auto cpu = make_cpu_kernels();
  std::vector<u64> x = {~0ULL, 1ULL << 63, 3}, y = {~0ULL, 2, 5}, out(3);
  cpu->mul(x, y, out);
  CHECK(out == std::vector<u64>{1, 0, 15});
}

TEST_CASE("compute: CUDA equals CPU bit for bit (runs where a GPU is present)") {
  if (cuda_device_count() == 0) {
    MESSAGE("no CUDA device here: CUDA comparison not run");
    CHECK_THROWS_AS(make_cuda_kernels(), ppi::Error);
    return;
  }
  auto cpu = make_cpu_kernels();
  auto gpu = make_cuda_kernels();
  std::size_t m = 37, k = 129, n = 71;
  auto a = random_words(m * k, 3), b = random_words(k * n, 4);
  std::vector<u64> c_cpu(m * n), c_gpu(m * n);
  cpu->gemm(a, b, c_cpu, m, k, n);
  gpu->gemm(a, b, c_gpu, m, k, n);
  CHECK(c_cpu == c_gpu);
  std::vector<u64> p_cpu(a.size()), p_gpu(a.size());
  cpu->mul(a, a, p_cpu);
  gpu->mul(a, a, p_gpu);
  CHECK(p_cpu == p_gpu);
}

namespace {

// Counts the calls it gets and computes with the CPU kernels.
struct CountingKernels final : RingKernels {
  int& gemms;
  int& muls;
  std::unique_ptr<RingKernels> cpu = make_cpu_kernels();
  CountingKernels(int& g, int& m) : gemms(g), muls(m) {}
  std::string name() const override { return "counting"; }
  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    ++gemms;
    cpu->gemm(a, b, c, m, k, n);
  }
  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    ++muls;
    cpu->mul(x, y, out);
  }
};

}  // namespace

TEST_CASE("compute: size dispatch sends large GEMMs to the large backend, the rest to the small") {
  int small_gemms = 0, small_muls = 0, large_gemms = 0, large_muls = 0;
  auto k =
      make_size_dispatch_kernels(std::make_unique<CountingKernels>(small_gemms, small_muls),
                                 std::make_unique<CountingKernels>(large_gemms, large_muls), 1000);
  auto a = random_words(10 * 10, 5), b = random_words(10 * 10, 6);
  std::vector<u64> c(10 * 10), reference(10 * 10);
  make_cpu_kernels()->gemm(a, b, reference, 10, 10, 10);
  k->gemm(a, b, c, 10, 10, 10);  // 1000 multiply-adds: large
  CHECK(c == reference);
  k->gemm(std::span<const u64>(a).subspan(0, 90), b, std::span<u64>(c).subspan(0, 90), 9, 10, 10);
  k->mul(a, b, c);
  CHECK(small_gemms == 1);
  CHECK(large_gemms == 1);
  CHECK(small_muls == 1);
  CHECK(large_muls == 0);
}
