#include "gen/gemm128.hpp"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"

namespace ppi::gen {

namespace {

using std::size_t;

void check_shapes(size_t a, size_t b, size_t c, size_t m, size_t k, size_t n) {
  if (a != m * k || b != k * n || c != m * n) {
    throw Error(Errc::invalid_argument, "gemm_z2_128: buffer sizes do not match " +
                                            std::to_string(m) + "x" + std::to_string(k) + "x" +
                                            std::to_string(n));
  }
}

constexpr u64 kLimbMask = (u64{1} << 52) - 1;
inline u64 limb(u128 v, int l) {
  return static_cast<u64>(v >> (52 * l)) & kLimbMask;
}

// Blocking: a K block bounds the accumulators (each multiply-add adds < 2^52 to a 64-bit
// lane, at most two per lane and step, so 1024 steps stay below 2^63); rows come in tiles of
// kRows, columns in panels of 8 lanes.
constexpr size_t kKBlock = 1024;
constexpr size_t kRows = 6;
constexpr size_t kLanes = 8;

bool have_ifma() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
  return ok;
}

// One tile: rows [0, R) of the packed A block times one packed B panel over kb steps, added
// into C. Limb weights: w0 = lo(a0 b0); w52 = hi(a0 b0) + lo(a0 b1) + lo(a1 b0);
// w104 = hi(a0 b1) + hi(a1 b0) + lo(a1 b1) + lo(a0 b2) + lo(a2 b0), of which only the low 24
// bits matter, so w104 may wrap.
template <size_t R>
__attribute__((target("avx512f,avx512ifma"))) void ifma_tile(const u64* ap, const u64* bp,
                                                             size_t kb, u128* c, size_t ldc,
                                                             size_t cols) {
  __m512i w0[R], w52a[R], w52b[R], w104[R];
  for (size_t r = 0; r < R; ++r) {
    w0[r] = w52a[r] = w52b[r] = w104[r] = _mm512_setzero_si512();
  }
  for (size_t p = 0; p < kb; ++p, ap += 3 * R, bp += 3 * kLanes) {
    const __m512i b0 = _mm512_loadu_si512(bp);
    const __m512i b1 = _mm512_loadu_si512(bp + kLanes);
    const __m512i b2 = _mm512_loadu_si512(bp + 2 * kLanes);
    for (size_t r = 0; r < R; ++r) {
      const __m512i a0 = _mm512_set1_epi64(static_cast<long long>(ap[3 * r]));
      const __m512i a1 = _mm512_set1_epi64(static_cast<long long>(ap[3 * r + 1]));
      const __m512i a2 = _mm512_set1_epi64(static_cast<long long>(ap[3 * r + 2]));
      w0[r] = _mm512_madd52lo_epu64(w0[r], a0, b0);
      w52a[r] = _mm512_madd52hi_epu64(w52a[r], a0, b0);
      w52a[r] = _mm512_madd52lo_epu64(w52a[r], a0, b1);
      w52b[r] = _mm512_madd52lo_epu64(w52b[r], a1, b0);
      w104[r] = _mm512_madd52hi_epu64(w104[r], a0, b1);
      w104[r] = _mm512_madd52hi_epu64(w104[r], a1, b0);
      w104[r] = _mm512_madd52lo_epu64(w104[r], a1, b1);
      w104[r] = _mm512_madd52lo_epu64(w104[r], a0, b2);
      w104[r] = _mm512_madd52lo_epu64(w104[r], a2, b0);
    }
  }
  alignas(64) u64 v0[kLanes], va[kLanes], vb[kLanes], vh[kLanes];
  for (size_t r = 0; r < R; ++r) {
    _mm512_store_si512(v0, w0[r]);
    _mm512_store_si512(va, w52a[r]);
    _mm512_store_si512(vb, w52b[r]);
    _mm512_store_si512(vh, w104[r]);
    u128* row = c + r * ldc;
    for (size_t j = 0; j < cols; ++j) {
      row[j] += u128{v0[j]} + ((u128{va[j]} + vb[j]) << 52) + (u128{vh[j]} << 104);
    }
  }
}

void ifma_rows(size_t rows, const u64* ap, const u64* bp, size_t kb, u128* c, size_t ldc,
               size_t cols) {
  switch (rows) {
    case 1:
      return ifma_tile<1>(ap, bp, kb, c, ldc, cols);
    case 2:
      return ifma_tile<2>(ap, bp, kb, c, ldc, cols);
    case 3:
      return ifma_tile<3>(ap, bp, kb, c, ldc, cols);
    case 4:
      return ifma_tile<4>(ap, bp, kb, c, ldc, cols);
    case 5:
      return ifma_tile<5>(ap, bp, kb, c, ldc, cols);
    default:
      return ifma_tile<6>(ap, bp, kb, c, ldc, cols);
  }
}

void gemm_ifma(std::span<const u128> a, std::span<const u128> b, std::span<u128> c, size_t m,
               size_t k, size_t n) {
  std::fill(c.begin(), c.end(), u128{0});
  const size_t panels = (n + kLanes - 1) / kLanes;
  const size_t tiles = (m + kRows - 1) / kRows;
  std::vector<u64> pa, pb;
  for (size_t k0 = 0; k0 < k; k0 += kKBlock) {
    const size_t kb = std::min(kKBlock, k - k0);
    // A tile t, step p: rows t*kRows.. as [p][r][limb] (a short last tile packs fewer rows).
    pa.assign(tiles * kRows * kb * 3, 0);
    for (size_t t = 0; t < tiles; ++t) {
      const size_t r_count = std::min(kRows, m - t * kRows);
      u64* dst = pa.data() + t * kRows * kb * 3;
      for (size_t p = 0; p < kb; ++p) {
        for (size_t r = 0; r < r_count; ++r) {
          const u128 v = a[(t * kRows + r) * k + k0 + p];
          for (int l = 0; l < 3; ++l) dst[(p * r_count + r) * 3 + l] = limb(v, l);
        }
      }
    }
    // B panel q, step p: [p][limb][lane], zero-padded past column n.
    pb.assign(panels * kb * 3 * kLanes, 0);
    for (size_t p = 0; p < kb; ++p) {
      const u128* brow = b.data() + (k0 + p) * n;
      for (size_t j = 0; j < n; ++j) {
        u64* dst = pb.data() + ((j / kLanes) * kb + p) * 3 * kLanes + j % kLanes;
        for (int l = 0; l < 3; ++l) dst[l * kLanes] = limb(brow[j], l);
      }
    }
    for (size_t q = 0; q < panels; ++q) {
      const size_t cols = std::min(kLanes, n - q * kLanes);
      const u64* bp = pb.data() + q * kb * 3 * kLanes;
      for (size_t t = 0; t < tiles; ++t) {
        const size_t r_count = std::min(kRows, m - t * kRows);
        ifma_rows(r_count, pa.data() + t * kRows * kb * 3, bp, kb,
                  c.data() + t * kRows * n + q * kLanes, n, cols);
      }
    }
  }
  cleanse(pa.data(), pa.size() * sizeof(u64));
  cleanse(pb.data(), pb.size() * sizeof(u64));
}

}  // namespace

void gemm_z2_128_scalar(std::span<const u128> a, std::span<const u128> b, std::span<u128> c,
                        size_t m, size_t k, size_t n) {
  check_shapes(a.size(), b.size(), c.size(), m, k, n);
  std::fill(c.begin(), c.end(), u128{0});
  for (size_t i = 0; i < m; ++i) {
    u128* crow = c.data() + i * n;
    for (size_t p = 0; p < k; ++p) {
      const u128 x = a[i * k + p];
      const u128* brow = b.data() + p * n;
      for (size_t j = 0; j < n; ++j) crow[j] += x * brow[j];
    }
  }
}

void gemm_z2_128(std::span<const u128> a, std::span<const u128> b, std::span<u128> c, size_t m,
                 size_t k, size_t n) {
  check_shapes(a.size(), b.size(), c.size(), m, k, n);
  if (m == 0 || n == 0) return;
  if (have_ifma()) return gemm_ifma(a, b, c, m, k, n);
  gemm_z2_128_scalar(a, b, c, m, k, n);
}

std::string gemm_z2_128_backend() {
  return have_ifma() ? "avx512ifma" : "scalar";
}

}  // namespace ppi::gen
