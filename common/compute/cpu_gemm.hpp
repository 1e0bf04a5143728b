#pragma once
// Choosing the CPU ring kernels' GEMM: which instruction set (chosen at run time, so one build
// runs on every x86-64 and uses what the CPU has) and how many threads. make_cpu_kernels()
// (ring_kernels.hpp) is make_cpu_kernels(CpuKernelOptions{}).

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "compute/ring_kernels.hpp"

namespace ppi::compute {

enum class CpuGemmKernel { scalar, avx2, avx512 };

// "scalar", "avx2", "avx512": the values PPI_GEMM_KERNEL takes.
std::string_view cpu_gemm_kernel_name(CpuGemmKernel kernel);
// Whether this build has the kernel and this CPU (and OS) can run it; scalar always.
bool cpu_gemm_kernel_supported(CpuGemmKernel kernel);
// The supported kernels, slowest first.
std::vector<CpuGemmKernel> supported_cpu_gemm_kernels();

// Below this many multiply-adds (m k n, about 1 ms on one core) a GEMM runs on one thread:
// starting and joining a thread for each call cost about 80 us on the 2-core machine of
// docs/benchmarks.md "Ring GEMM on the CPU", where a 64x128x256 product (0.11 ms on one
// thread) took longer on two.
inline constexpr std::uint64_t kMinParallelGemmOps = std::uint64_t{1} << 24;

struct CpuKernelOptions {
  // Unset: PPI_GEMM_KERNEL (scalar|avx2|avx512) where set, else the fastest supported.
  std::optional<CpuGemmKernel> kernel;
  // 0: PPI_GEMM_THREADS where set, else std::thread::hardware_concurrency().
  unsigned threads = 0;
  std::uint64_t min_parallel_ops = kMinParallelGemmOps;
};

// Throws Error(unavailable) for a kernel this CPU cannot run, Error(config) for a bad
// PPI_GEMM_KERNEL or PPI_GEMM_THREADS.
std::unique_ptr<RingKernels> make_cpu_kernels(const CpuKernelOptions& options);

}  // namespace ppi::compute
