// The Z_2^64 GEMM micro-kernel for AVX2, which has no 64-bit multiply: with 32-bit limbs,
//   a * b mod 2^64 = lo(a) lo(b) + ((lo(a) hi(b) + hi(a) lo(b)) mod 2^32) << 32.
// vpmuludq gives lo(a) lo(b) in full; one vpmulld on B with its two halves swapped gives both
// cross products mod 2^32 side by side, summed with 32-bit adds (no carry between them). The
// cross sums are folded and shifted once per tile, not once per product: 2 multiplies and 2
// adds per 4 products. Compiled with -mavx2; called only where the CPU has it (cpu_kernels.cpp).
#include <immintrin.h>

#include "compute/cpu_gemm_blocked.hpp"

namespace ppi::compute::detail {
namespace {

struct Avx2Ops {
  static constexpr std::size_t kLanes = 4;
  struct Acc {
    __m256i lo, cross;
  };
  struct BVec {
    __m256i b, swapped;
  };
  static Acc zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static BVec load_b(const word* p) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {b, _mm256_shuffle_epi32(b, 0xB1)};
  }
  static __m256i broadcast(word a) { return _mm256_set1_epi64x(static_cast<long long>(a)); }
  static void madd(Acc& acc, __m256i a, const BVec& b) {
    acc.lo = _mm256_add_epi64(acc.lo, _mm256_mul_epu32(a, b.b));
    acc.cross = _mm256_add_epi32(acc.cross, _mm256_mullo_epi32(a, b.swapped));
  }
  static void store(word* dst, const Acc& acc, bool accumulate) {
    auto* d = reinterpret_cast<__m256i*>(dst);
    const __m256i x = acc.cross;
    const __m256i folded = _mm256_slli_epi64(_mm256_add_epi32(x, _mm256_srli_epi64(x, 32)), 32);
    __m256i v = _mm256_add_epi64(acc.lo, folded);
    if (accumulate) v = _mm256_add_epi64(v, _mm256_loadu_si256(d));
    _mm256_storeu_si256(d, v);
  }
};

// 4 rows x 1 vector: 8 accumulators, B, B swapped and a broadcast of A leave registers spare;
// 4x2, 3x2 and 6x1 need more than the 16 there are and spilled, which cost more than the extra
// loads of the narrow tile save. Its narrow panels are packed so that a k block of B is
// contiguous; KC = 128 measured faster than 64 and 256 (bench/compute_bench.cpp).
struct Avx2Kernel : RegisterTile<Avx2Ops, 4, 1> {
  static constexpr std::size_t KC = 128;
  static constexpr bool kPackB = true;
};
static_assert(Avx2Kernel::NR == kAvx2Nr);

}  // namespace

void gemm_avx2(const GemmArgs& g) {
  blocked_gemm<Avx2Kernel>(g);
}

void mul_avx2(const word* x, const word* y, word* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = x[i] * y[i];
}

}  // namespace ppi::compute::detail
