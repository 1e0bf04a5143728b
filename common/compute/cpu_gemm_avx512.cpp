// The Z_2^64 GEMM micro-kernel for AVX-512 (F, DQ, VL): vpmullq gives the low 64 bits of eight
// 64 x 64-bit products at once, which is exactly the ring's product. Compiled with
// -mavx512f -mavx512dq -mavx512vl; called only where the CPU has them (cpu_kernels.cpp).
#include <immintrin.h>

#include "compute/cpu_gemm_blocked.hpp"

namespace ppi::compute::detail {
namespace {

struct Avx512Ops {
  static constexpr std::size_t kLanes = 8;
  using Acc = __m512i;
  using BVec = __m512i;
  static Acc zero() { return _mm512_setzero_si512(); }
  static BVec load_b(const word* p) { return _mm512_loadu_si512(p); }
  static __m512i broadcast(word a) { return _mm512_set1_epi64(static_cast<long long>(a)); }
  static void madd(Acc& acc, __m512i a, BVec b) {
    acc = _mm512_add_epi64(acc, _mm512_mullo_epi64(a, b));
  }
  static void store(word* dst, Acc acc, bool accumulate) {
    if (accumulate) acc = _mm512_add_epi64(acc, _mm512_loadu_si512(dst));
    _mm512_storeu_si512(dst, acc);
  }
};

// 12 rows x 2 vectors: 24 accumulators, 2 B vectors and one broadcast of A in the 32
// registers. Of 8x3, 6x4, 4x4, 4x6 and 12x2 it was the fastest (bench/compute_bench.cpp, an AMD
// EPYC with AVX-512: 15-18 G multiply-adds/s per core at 128x768x768, 8x3 and 6x4 14-17).
// Packing B did not pay for its 16-column panels, at any m tried (up to 1024).
struct Avx512Kernel : RegisterTile<Avx512Ops, 12, 2> {
  static constexpr std::size_t KC = 256;
  static constexpr bool kPackB = false;
};
static_assert(Avx512Kernel::NR == kAvx512Nr);

}  // namespace

void gemm_avx512(const GemmArgs& g) {
  blocked_gemm<Avx512Kernel>(g);
}

void mul_avx512(const word* x, const word* y, word* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    _mm512_storeu_si512(out + i,
                        _mm512_mullo_epi64(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i)));
  }
  for (; i < count; ++i) out[i] = x[i] * y[i];
}

}  // namespace ppi::compute::detail
