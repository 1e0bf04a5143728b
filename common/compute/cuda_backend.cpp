// The CUDA implementation of RingKernels, over the raw launchers of cuda_kernels.cu.
#include <string>

#include "compute/cuda_launch.hpp"
#include "compute/ring_kernels.hpp"
#include "core/error.hpp"

namespace ppi::compute {
namespace {

void check(const char* status, const char* what) {
  if (status[0] != '\0') throw Error(Errc::internal, std::string(what) + ": " + status);
}

class CudaKernels final : public RingKernels {
 public:
  std::string name() const override { return "cuda"; }

  void gemm(std::span<const u64> a, std::span<const u64> b, std::span<u64> c, std::size_t m,
            std::size_t k, std::size_t n) override {
    check_gemm_shapes(a.size(), b.size(), c.size(), m, k, n);
    check(cuda::gemm_u64(a.data(), b.data(), c.data(), m, k, n), "CUDA gemm");
  }

  void mul(std::span<const u64> x, std::span<const u64> y, std::span<u64> out) override {
    check_mul_shapes(x.size(), y.size(), out.size());
    check(cuda::mul_u64(x.data(), y.data(), out.data(), x.size()), "CUDA mul");
  }
};

}  // namespace

int cuda_device_count() {
  return cuda::device_count();
}

std::unique_ptr<RingKernels> make_cuda_kernels() {
  if (cuda_device_count() == 0) throw Error(Errc::unavailable, "no CUDA device is present");
  return std::make_unique<CudaKernels>();
}

}  // namespace ppi::compute
