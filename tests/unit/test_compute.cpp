#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "compute/cpu_gemm.hpp"
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

// The same product in i-p-j order, for the shapes where the order above would take seconds.
std::vector<u64> naive_gemm_rows(const std::vector<u64>& a, const std::vector<u64>& b,
                                 std::size_t m, std::size_t k, std::size_t n) {
  std::vector<u64> c(m * n, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p)
      for (std::size_t j = 0; j < n; ++j) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

// Random words, a third of them replaced by the values where limb arithmetic carries or
// wraps: 0, 1, 2^63, 2^64 - 1, 2^32 - 1, 2^32.
std::vector<u64> edgy_words(std::size_t count, std::uint64_t seed) {
  static constexpr u64 kEdges[] = {0, 1, 1ULL << 63, ~0ULL, 0xFFFFFFFFULL, 1ULL << 32};
  std::mt19937_64 rng(seed);  // test data only
  std::vector<u64> out(count);
  for (auto& w : out) {
    const u64 r = rng();
    w = r % 3 == 0 ? kEdges[(r >> 8) % 6] : rng();
  }
  return out;
}

std::string kernel_label(CpuGemmKernel kernel, unsigned threads) {
  return std::string(cpu_gemm_kernel_name(kernel)) + " x" + std::to_string(threads);
}

// Sets an environment variable for one scope, restoring the previous value.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(const char* n, const char* value) : name(n) {
    if (const char* v = std::getenv(n)) old = v;
    ::setenv(n, value, 1);
  }
  ~ScopedEnv() {
    if (old) {
      ::setenv(name.c_str(), old->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
};

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

TEST_CASE("compute: every CPU GEMM kernel equals the triple loop bit for bit, odd shapes") {
  const std::size_t dims[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 127, 129};
  const auto kernels = supported_cpu_gemm_kernels();
  REQUIRE(kernels.front() == CpuGemmKernel::scalar);
  MESSAGE("CPU GEMM kernels here: " << kernels.size());
  std::vector<std::unique_ptr<RingKernels>> backends;
  for (auto kernel : kernels)
    backends.push_back(make_cpu_kernels({.kernel = kernel, .threads = 1}));
  std::uint64_t seed = 100;
  for (std::size_t m : dims) {
    for (std::size_t k : dims) {
      for (std::size_t n : dims) {
        const auto a = random_words(m * k, ++seed), b = random_words(k * n, ++seed);
        const auto reference = naive_gemm_rows(a, b, m, k, n);
        for (std::size_t x = 0; x < backends.size(); ++x) {
          std::vector<u64> c(m * n, 0xDEADBEEF);
          backends[x]->gemm(a, b, c, m, k, n);
          if (c != reference) {
            FAIL_CHECK(backends[x]->name() << " differs at " << m << "x" << k << "x" << n);
          }
        }
      }
    }
  }
}

TEST_CASE("compute: every CPU GEMM kernel is exact on carry and wrap-around values") {
  for (auto kernel : supported_cpu_gemm_kernels()) {
    auto cpu = make_cpu_kernels({.kernel = kernel, .threads = 1});
    CAPTURE(cpu->name());
    // k past one k block (256), m past one row block (128): every accumulation path.
    for (auto [m, k, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{33, 65, 17},
                           {13, 300, 40},
                           {130, 520, 19},
                           {1, 1000, 35}}) {
      const auto a = edgy_words(m * k, m + k), b = edgy_words(k * n, k + n);
      std::vector<u64> c(m * n);
      cpu->gemm(a, b, c, m, k, n);
      CHECK(c == naive_gemm(a, b, m, k, n));
    }
    // All ones: each product is 1 (2^64 - 1 squared), the sum k.
    const std::size_t m = 5, k = 77, n = 23;
    std::vector<u64> a(m * k, ~0ULL), b(k * n, ~0ULL), c(m * n);
    cpu->gemm(a, b, c, m, k, n);
    CHECK(c == std::vector<u64>(m * n, k));
    // 2^63 * 2^32-1 = 2^63 and an even count of them cancels.
    std::vector<u64> a2(2 * 2, 1ULL << 63), b2(2 * 2, 0xFFFFFFFFULL), c2(4);
    cpu->gemm(a2, b2, c2, 2, 2, 2);
    CHECK(c2 == std::vector<u64>(4, 0));
  }
}

TEST_CASE("compute: CPU GEMM with k = 0 is all zeros, with m or n = 0 does nothing") {
  for (auto kernel : supported_cpu_gemm_kernels()) {
    auto cpu = make_cpu_kernels({.kernel = kernel, .threads = 1});
    std::vector<u64> none, c(6, 7);
    cpu->gemm(none, none, c, 2, 0, 3);
    CHECK(c == std::vector<u64>(6, 0));
    std::vector<u64> a(6, 1);
    cpu->gemm(a, none, none, 2, 3, 0);
    cpu->gemm(none, a, none, 0, 3, 2);
  }
}

TEST_CASE("compute: every CPU GEMM kernel equals the triple loop on the model's shapes") {
  for (auto [m, k, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{128, 768, 768},
                         {64, 768, 2304},
                         {64, 3072, 768},
                         {1, 768, 50257},
                         {64, 128, 50257},
                         {64, 50257, 128}}) {
    const auto a = random_words(m * k, m * 3 + k), b = random_words(k * n, n * 5 + k);
    const auto reference = naive_gemm_rows(a, b, m, k, n);
    for (auto kernel : supported_cpu_gemm_kernels()) {
      for (unsigned threads : {1u, 2u}) {
        auto cpu = make_cpu_kernels({.kernel = kernel, .threads = threads});
        std::vector<u64> c(m * n);
        cpu->gemm(a, b, c, m, k, n);
        CHECK_MESSAGE(c == reference, kernel_label(kernel, threads)
                                          << " at " << m << "x" << k << "x" << n);
      }
    }
  }
}

TEST_CASE("compute: the multithreaded CPU GEMM equals the triple loop (column, row, no split)") {
  // Wide n splits by columns, narrow n with tall m by rows, a 1 x 1 x k product not at all;
  // 3 threads also on a machine with fewer cores, so the splits are uneven.
  for (auto kernel : supported_cpu_gemm_kernels()) {
    for (unsigned threads : {2u, 3u, 7u}) {
      auto cpu = make_cpu_kernels({.kernel = kernel, .threads = threads, .min_parallel_ops = 0});
      for (auto [m, k, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{17, 33, 129},
                             {65, 31, 9},
                             {1, 300, 1},
                             {3, 5, 7},
                             {129, 257, 65}}) {
        const auto a = edgy_words(m * k, k), b = edgy_words(k * n, n);
        std::vector<u64> c(m * n);
        cpu->gemm(a, b, c, m, k, n);
        CHECK_MESSAGE(c == naive_gemm(a, b, m, k, n), kernel_label(kernel, threads)
                                                          << " at " << m << "x" << k << "x" << n);
      }
    }
  }
}

TEST_CASE("compute: every CPU kernel's elementwise product equals the scalar one") {
  for (auto kernel : supported_cpu_gemm_kernels()) {
    auto cpu = make_cpu_kernels({.kernel = kernel});
    for (std::size_t count : {0, 1, 7, 8, 9, 1000}) {
      const auto x = edgy_words(count, count), y = edgy_words(count, count + 1);
      std::vector<u64> out(count), expected(count);
      for (std::size_t i = 0; i < count; ++i) expected[i] = x[i] * y[i];
      cpu->mul(x, y, out);
      CHECK(out == expected);
    }
  }
}

TEST_CASE("compute: the CPU GEMM kernel is chosen by option, by PPI_GEMM_KERNEL, else fastest") {
  const auto kernels = supported_cpu_gemm_kernels();
  CHECK(make_cpu_kernels({.kernel = CpuGemmKernel::scalar})->name() == "cpu-scalar");
  for (auto kernel : kernels) {
    CHECK(cpu_gemm_kernel_supported(kernel));
    CHECK(make_cpu_kernels({.kernel = kernel})->name() ==
          "cpu-" + std::string(cpu_gemm_kernel_name(kernel)));
  }
  for (auto kernel : {CpuGemmKernel::avx2, CpuGemmKernel::avx512}) {
    if (!cpu_gemm_kernel_supported(kernel)) {
      CHECK_THROWS_AS(make_cpu_kernels({.kernel = kernel}), ppi::Error);
    }
  }
  {
    ScopedEnv unset("PPI_GEMM_KERNEL", "");
    CHECK(make_cpu_kernels()->name() == "cpu-" + std::string(cpu_gemm_kernel_name(kernels.back())));
  }
  {
    ScopedEnv forced("PPI_GEMM_KERNEL", "scalar");
    CHECK(make_cpu_kernels()->name() == "cpu-scalar");
  }
  {
    ScopedEnv bad("PPI_GEMM_KERNEL", "avx9000");
    try {
      make_cpu_kernels();
      FAIL("a bad PPI_GEMM_KERNEL was accepted");
    } catch (const ppi::Error& e) {
      CHECK(e.code() == ppi::Errc::config);
    }
  }
  {
    ScopedEnv bad("PPI_GEMM_THREADS", "two");
    CHECK_THROWS_AS(make_cpu_kernels(), ppi::Error);
  }
  {
    ScopedEnv three("PPI_GEMM_THREADS", "3");
    auto cpu = make_cpu_kernels({.kernel = std::nullopt, .threads = 0, .min_parallel_ops = 0});
    const auto a = random_words(40 * 50, 7), b = random_words(50 * 60, 8);
    std::vector<u64> c(40 * 60);
    cpu->gemm(a, b, c, 40, 50, 60);
    CHECK(c == naive_gemm(a, b, 40, 50, 60));
  }
}
