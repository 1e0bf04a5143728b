#pragma once
// The cache-blocked GEMM loop around a register-blocked micro-kernel, included by each ISA file
// (cpu_gemm_avx2.cpp, cpu_gemm_avx512.cpp). Everything is in an unnamed namespace on purpose:
// each file gets its own copy compiled for its ISA, never one shared with another file.
//
// A micro-kernel K provides MR (rows), NR (columns), KC (k block), kPackB (whether full panels of
// B are packed) and
//   template <std::size_t R> static void tile(kc, ap, bp, ldb, c, ldc, accumulate)
// computing the R x NR tile c (ldc) = (accumulate ? c : 0) + A_panel * B_panel, where the A
// panel is kc x R (row p at ap + p * R) and the B panel kc x NR (row p at bp + p * ldb).
// RegisterTile builds one from an ISA's vector operations.

#include <cstddef>
#include <utility>

#include "compute/cpu_gemm_isa.hpp"

namespace ppi::compute::detail {
namespace {

// An MR x NV-vector tile of C held in registers. Ops (one per ISA) provides kLanes, the
// accumulator type Acc, the B operand type BVec and
//   zero() -> Acc, load_b(p) -> BVec, broadcast(word) -> A operand,
//   madd(Acc&, a, const BVec&), store(word* dst, const Acc&, bool accumulate).
// The loops over rows and vectors are unrolled so the accumulators stay in registers.
template <class Ops, std::size_t Rows, std::size_t Vectors>
struct RegisterTile {
  static constexpr std::size_t MR = Rows, NV = Vectors, NR = Ops::kLanes * NV;

  template <std::size_t R>
  static void tile(std::size_t kc, const word* ap, const word* bp, std::size_t ldb, word* c,
                   std::size_t ldc, bool accumulate) {
    typename Ops::Acc acc[R][NV];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i) {
#pragma GCC unroll 16
      for (std::size_t j = 0; j < NV; ++j) acc[i][j] = Ops::zero();
    }
    for (std::size_t p = 0; p < kc; ++p, ap += R, bp += ldb) {
      typename Ops::BVec b[NV];
#pragma GCC unroll 16
      for (std::size_t j = 0; j < NV; ++j) b[j] = Ops::load_b(bp + Ops::kLanes * j);
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i) {
        const auto a = Ops::broadcast(ap[i]);
#pragma GCC unroll 16
        for (std::size_t j = 0; j < NV; ++j) Ops::madd(acc[i][j], a, b[j]);
      }
    }
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i) {
#pragma GCC unroll 16
      for (std::size_t j = 0; j < NV; ++j) {
        Ops::store(c + i * ldc + Ops::kLanes * j, acc[i][j], accumulate);
      }
    }
  }
};

// Panels of MR rows, k-major (the micro-kernel reads R words per k); the last may be shorter.
template <std::size_t MR>
void pack_a(const word* a, std::size_t lda, std::size_t mc, std::size_t kc, word* dst) {
  for (std::size_t i0 = 0; i0 < mc; i0 += MR) {
    const std::size_t r = mc - i0 < MR ? mc - i0 : MR;
    for (std::size_t p = 0; p < kc; ++p) {
      for (std::size_t i = 0; i < r; ++i) *dst++ = a[(i0 + i) * lda + p];
    }
  }
}

// A kc x NR panel, zero-padded past nr columns so the micro-kernel never reads out of bounds.
template <std::size_t NR>
void pack_b(const word* b, std::size_t ldb, std::size_t kc, std::size_t nr, word* dst) {
  for (std::size_t p = 0; p < kc; ++p, dst += NR, b += ldb) {
    if (nr == NR) {
      for (std::size_t j = 0; j < NR; ++j) dst[j] = b[j];
      continue;
    }
    std::size_t j = 0;
    for (; j < nr; ++j) dst[j] = b[j];
    for (; j < NR; ++j) dst[j] = 0;
  }
}

template <class K, std::size_t... R>
void run_tile(std::size_t r, std::size_t kc, const word* ap, const word* bp, std::size_t ldb,
              word* c, std::size_t ldc, bool accumulate, std::index_sequence<R...>) {
  (void)((r == R + 1 ? (K::template tile<R + 1>(kc, ap, bp, ldb, c, ldc, accumulate), true)
                     : false) ||
         ...);
}

// With one row panel (m <= MR, e.g. a single token's GEMV) B serves one micro-kernel call per
// panel: it is read in place, a few rows at a time so that each row is a sequential stream
// (a long k block would walk B down its columns, a page per row). Otherwise the k block keeps a
// panel of B in L1; whether packing it pays depends on the kernel (bench/compute_bench.cpp:
// for AVX-512's 16-column panels it did not, for AVX2's 4-column ones it did). Edge panels are
// always packed, for the zero padding.
template <class K>
void blocked_gemm(const GemmArgs& g) {
  constexpr std::size_t MR = K::MR, NR = K::NR;
  static_assert(NR <= kMaxNr && K::KC <= kKc);
  constexpr std::size_t kSmallKc = 8;
  word* apack = g.work;
  word* bpack = g.work + kMc * kKc;
  bpack += (64 - reinterpret_cast<std::uintptr_t>(bpack) % 64) % 64 / sizeof(word);
  const bool one_panel = g.m <= MR;
  const bool pack_full_panels = K::kPackB && !one_panel;
  const std::size_t kc_block = one_panel ? kSmallKc : K::KC;
  for (std::size_t pc = 0; pc < g.k; pc += kc_block) {
    const std::size_t kc = g.k - pc < kc_block ? g.k - pc : kc_block;
    const bool accumulate = pc > 0;
    for (std::size_t ic = 0; ic < g.m; ic += kMc) {
      const std::size_t mc = g.m - ic < kMc ? g.m - ic : kMc;
      pack_a<MR>(g.a + ic * g.lda + pc, g.lda, mc, kc, apack);
      for (std::size_t jc = 0; jc < g.n; jc += NR) {
        const std::size_t nr = g.n - jc < NR ? g.n - jc : NR;
        const word* bsrc = g.b + pc * g.ldb + jc;
        const word* bp = bsrc;
        std::size_t ldb = g.ldb;
        if (pack_full_panels || nr < NR) {
          pack_b<NR>(bsrc, g.ldb, kc, nr, bpack);
          bp = bpack;
          ldb = NR;
        }
        for (std::size_t ir = 0; ir < mc; ir += MR) {
          const std::size_t r = mc - ir < MR ? mc - ir : MR;
          word* c = g.c + (ic + ir) * g.ldc + jc;
          const word* ap = apack + ir * kc;
          if (nr == NR) {
            run_tile<K>(r, kc, ap, bp, ldb, c, g.ldc, accumulate, std::make_index_sequence<MR>{});
            continue;
          }
          word tmp[MR * NR];
          run_tile<K>(r, kc, ap, bp, ldb, tmp, NR, false, std::make_index_sequence<MR>{});
          for (std::size_t i = 0; i < r; ++i) {
            for (std::size_t j = 0; j < nr; ++j) {
              c[i * g.ldc + j] = (accumulate ? c[i * g.ldc + j] : 0) + tmp[i * NR + j];
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ppi::compute::detail
