// Built when CUDA is not: the CPU backend is the only one.
#include "compute/ring_kernels.hpp"
#include "core/error.hpp"

namespace ppi::compute {

int cuda_device_count() {
  return 0;
}

std::unique_ptr<RingKernels> make_cuda_kernels() {
  throw Error(Errc::unavailable, "this build has no CUDA support");
}

}  // namespace ppi::compute
