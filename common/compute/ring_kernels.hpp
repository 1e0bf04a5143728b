#pragma once
// Ring kernels behind one interface: Z_2^64 matrix product and elementwise operations, with a
// CPU backend that always exists and a CUDA backend when the build found nvcc and the machine
// has a GPU. Both give the same results bit for bit (wrap-around arithmetic has no rounding).

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ppi::compute {

using u64 = std::uint64_t;

class RingKernels {
 public:
  virtual ~RingKernels() = default;
  virtual std::string name() const = 0;
  // C (m x n) = A (m x k) * B (k x n) mod 2^64, row-major.
  virtual void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
                    std::size_t k, std::size_t n) = 0;
  // out[i] = x[i] * y[i] mod 2^64.
  virtual void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) = 0;
};

std::unique_ptr<RingKernels> make_cpu_kernels();
// Number of usable CUDA devices; 0 when built without CUDA or when no GPU is present.
int cuda_device_count();
// The CUDA backend; throws Error(unavailable) when cuda_device_count() == 0.
std::unique_ptr<RingKernels> make_cuda_kernels();
// GEMMs of at least this many multiply-adds go to the GPU under make_best_kernels().
inline constexpr std::uint64_t kMinGpuGemmOps = std::uint64_t{1} << 20;
// GEMMs of at least min_large_gemm_ops multiply-adds (m k n) run on `large`, the rest and every
// elementwise product on `small`.
std::unique_ptr<RingKernels> make_size_dispatch_kernels(std::unique_ptr<RingKernels> small,
                                                        std::unique_ptr<RingKernels> large,
                                                        std::uint64_t min_large_gemm_ops);
// Where a CUDA device is present: small GEMMs and elementwise products on the CPU, large GEMMs
// on CUDA (kMinGpuGemmOps). Without one: the CPU.
std::unique_ptr<RingKernels> make_best_kernels();

// Checks the shapes of a gemm call; throws Error(invalid_argument).
void check_gemm_shapes(std::size_t a, std::size_t b, std::size_t c, std::size_t m, std::size_t k,
                       std::size_t n);
void check_mul_shapes(std::size_t x, std::size_t y, std::size_t out);

}  // namespace ppi::compute
