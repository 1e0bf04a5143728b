#pragma once
// The interface between the CPU GEMM driver (cpu_kernels.cpp: kernel choice, threads) and the
// per-ISA kernels (cpu_gemm_avx2.cpp, cpu_gemm_avx512.cpp, each compiled with its own -m flags).
// Only plain data and function declarations here: an inline function defined in a header and
// compiled in an ISA file could be the copy the linker keeps for the whole program, and then run
// on a CPU without that ISA.

#include <cstddef>
#include <cstdint>

namespace ppi::compute::detail {

using word = std::uint64_t;

// One GEMM on strided row-major operands: C (m x n, ldc) = A (m x k, lda) * B (k x n, ldb).
struct GemmArgs {
  const word* a;
  std::size_t lda;
  const word* b;
  std::size_t ldb;
  word* c;
  std::size_t ldc;
  std::size_t m, k, n;
  word* work;  // kWorkspaceWords words, owned by the caller (one per thread)
};

// Bounds of the kernels' cache blocking (the workspace holds an MC x KC block of A and a KC x NR
// panel of B).
inline constexpr std::size_t kKc = 256;
inline constexpr std::size_t kMc = 128;
inline constexpr std::size_t kMaxNr = 32;
inline constexpr std::size_t kWorkspaceWords = kMc * kKc + kKc * kMaxNr + 16;

// Column widths of the micro-kernels: thread splits fall on multiples, so only the last
// thread gets an edge tile.
inline constexpr std::size_t kAvx2Nr = 4;
inline constexpr std::size_t kAvx512Nr = 16;

// k >= 1, m >= 1, n >= 1 (the driver handles the empty cases).
void gemm_avx2(const GemmArgs& g);
void gemm_avx512(const GemmArgs& g);
void mul_avx2(const word* x, const word* y, word* out, std::size_t count);
void mul_avx512(const word* x, const word* y, word* out, std::size_t count);

}  // namespace ppi::compute::detail
