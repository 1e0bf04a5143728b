#pragma once
// Raw-pointer entry points of the CUDA kernels (cuda_kernels.cu). The .cu file is compiled as
// C++17, so the C++20 interface (spans, RingKernels) lives in cuda_backend.cpp.
#include <cstddef>
#include <cstdint>

namespace ppi::compute::cuda {

// Host pointers in, host pointers out; each call copies to and from the device. Returns an
// empty string on success, else the CUDA error text.
const char* gemm_u64(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* c,
                     std::size_t m, std::size_t k, std::size_t n);
const char* mul_u64(const std::uint64_t* x, const std::uint64_t* y, std::uint64_t* out,
                    std::size_t size);
int device_count();

}  // namespace ppi::compute::cuda
