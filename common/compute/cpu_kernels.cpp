#include <algorithm>
#include <vector>

#include "compute/ring_kernels.hpp"
#include "core/error.hpp"

namespace ppi::compute {

void check_gemm_shapes(std::size_t a, std::size_t b, std::size_t c, std::size_t m, std::size_t k,
                       std::size_t n) {
  if (a != m * k || b != k * n || c != m * n) {
    throw Error(Errc::invalid_argument, "gemm: buffer sizes do not match " + std::to_string(m) +
                                            "x" + std::to_string(k) + "x" + std::to_string(n));
  }
}

void check_mul_shapes(std::size_t x, std::size_t y, std::size_t out) {
  if (x != y || x != out) throw Error(Errc::invalid_argument, "mul: operand sizes differ");
}

namespace {

class CpuKernels final : public RingKernels {
 public:
  std::string name() const override { return "cpu"; }

  // Blocked i-k-j loop: the inner loop streams a row of B and a row of C, which gcc vectorises.
  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    check_gemm_shapes(a.size(), b.size(), c.size(), m, k, n);
    std::fill(c.begin(), c.end(), 0);
    constexpr std::size_t kBlock = 256;
    for (std::size_t k0 = 0; k0 < k; k0 += kBlock) {
      std::size_t k1 = std::min(k, k0 + kBlock);
      for (std::size_t i = 0; i < m; ++i) {
        u64* crow = c.data() + i * n;
        for (std::size_t p = k0; p < k1; ++p) {
          const u64 aip = a[i * k + p];
          const u64* brow = b.data() + p * n;
          for (std::size_t j = 0; j < n; ++j) crow[j] += aip * brow[j];
        }
      }
    }
  }

  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    check_mul_shapes(x.size(), y.size(), out.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] * y[i];
  }
};

}  // namespace

std::unique_ptr<RingKernels> make_cpu_kernels() {
  return std::make_unique<CpuKernels>();
}

namespace {

// Small products stay on the CPU: below a few million multiply-adds the GPU's copies cost more
// than the arithmetic (bench/compute_bench.cpp on an H100: 64x64x32 takes 78 us on one core
// and 156 us on the GPU; 128x768x768 takes 45 ms and 0.94 ms). Elementwise products are
// memory-bound and never won on the GPU there, so they stay on the CPU too.
class SizeDispatchKernels final : public RingKernels {
 public:
  SizeDispatchKernels(std::unique_ptr<RingKernels> small, std::unique_ptr<RingKernels> large,
                      std::uint64_t min_large_gemm_ops)
      : small_(std::move(small)), large_(std::move(large)), min_ops_(min_large_gemm_ops) {}

  std::string name() const override { return small_->name() + "+" + large_->name(); }

  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    const std::uint64_t ops = std::uint64_t{m} * k * n;
    (ops >= min_ops_ ? *large_ : *small_).gemm(a, b, c, m, k, n);
  }
  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    small_->mul(x, y, out);
  }

 private:
  std::unique_ptr<RingKernels> small_, large_;
  std::uint64_t min_ops_;
};

}  // namespace

std::unique_ptr<RingKernels> make_size_dispatch_kernels(std::unique_ptr<RingKernels> small,
                                                        std::unique_ptr<RingKernels> large,
                                                        std::uint64_t min_large_gemm_ops) {
  return std::make_unique<SizeDispatchKernels>(std::move(small), std::move(large),
                                               min_large_gemm_ops);
}

std::unique_ptr<RingKernels> make_best_kernels() {
  if (cuda_device_count() > 0) {
    return make_size_dispatch_kernels(make_cpu_kernels(), make_cuda_kernels(), kMinGpuGemmOps);
  }
  return make_cpu_kernels();
}

}  // namespace ppi::compute
