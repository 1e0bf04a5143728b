#include "gen/gemm128.hpp"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "gen/big_buffer.hpp"

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
constexpr size_t kPanelGroup = 16;

bool have_ifma() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
  return ok;
}

// One tile: rows [0, R) of the packed A block times one packed B panel over kb steps, added
// into C. Limb weights: w0 = lo(a0 b0); w52 = hi(a0 b0) + lo(a0 b1) + lo(a1 b0);
// w104 = hi(a0 b1) + hi(a1 b0) + lo(a1 b1) + lo(a0 b2) + lo(a2 b0), of which only the low 24
// bits matter, so w104 may wrap. For a product mod 2^64 (Bits = 64) only w0 and the low 12
// bits of w52 matter: four multiply-adds per step instead of nine.
template <size_t R, int Bits>
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
      w0[r] = _mm512_madd52lo_epu64(w0[r], a0, b0);
      w52a[r] = _mm512_madd52hi_epu64(w52a[r], a0, b0);
      w52a[r] = _mm512_madd52lo_epu64(w52a[r], a0, b1);
      w52b[r] = _mm512_madd52lo_epu64(w52b[r], a1, b0);
      if constexpr (Bits == 128) {
        const __m512i a2 = _mm512_set1_epi64(static_cast<long long>(ap[3 * r + 2]));
        w104[r] = _mm512_madd52hi_epu64(w104[r], a0, b1);
        w104[r] = _mm512_madd52hi_epu64(w104[r], a1, b0);
        w104[r] = _mm512_madd52lo_epu64(w104[r], a1, b1);
        w104[r] = _mm512_madd52lo_epu64(w104[r], a0, b2);
        w104[r] = _mm512_madd52lo_epu64(w104[r], a2, b0);
      } else {
        (void)b2;
      }
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
      if constexpr (Bits == 128) {
        row[j] += u128{v0[j]} + ((u128{va[j]} + vb[j]) << 52) + (u128{vh[j]} << 104);
      } else {
        row[j] = static_cast<u64>(static_cast<u64>(row[j]) + v0[j] + ((va[j] + vb[j]) << 52));
      }
    }
  }
}

template <int Bits>
void ifma_rows(size_t rows, const u64* ap, const u64* bp, size_t kb, u128* c, size_t ldc,
               size_t cols) {
  switch (rows) {
    case 1:
      return ifma_tile<1, Bits>(ap, bp, kb, c, ldc, cols);
    case 2:
      return ifma_tile<2, Bits>(ap, bp, kb, c, ldc, cols);
    case 3:
      return ifma_tile<3, Bits>(ap, bp, kb, c, ldc, cols);
    case 4:
      return ifma_tile<4, Bits>(ap, bp, kb, c, ldc, cols);
    case 5:
      return ifma_tile<5, Bits>(ap, bp, kb, c, ldc, cols);
    default:
      return ifma_tile<6, Bits>(ap, bp, kb, c, ldc, cols);
  }
}

// Scratch for the packed operands, kept per thread so that a dealer generating batch after
// batch does not map and fault in fresh pages for every product; wiped after each use.
struct PackBuffers {
  BigVector<u64> a, b;
};
PackBuffers& pack_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// C (m x k_total) by (k_total x n) with the operands read through left(i, p) and
// right(p, j), so that structured operands need not be materialized.
template <int Bits, class Left, class Right>
void gemm_ifma(const Left& left, const Right& right, std::span<u128> c, size_t m, size_t k,
               size_t n) {
  std::fill(c.begin(), c.end(), u128{0});
  const size_t panels = (n + kLanes - 1) / kLanes;
  const size_t tiles = (m + kRows - 1) / kRows;
  BigVector<u64>& pa = pack_buffers().a;
  BigVector<u64>& pb = pack_buffers().b;
  for (size_t k0 = 0; k0 < k; k0 += kKBlock) {
    const size_t kb = std::min(kKBlock, k - k0);
    // A tile t, step p: rows t*kRows.. as [p][r][limb] (a short last tile packs fewer rows).
    resize_big(pa, tiles * kRows * kb * 3);
    for (size_t t = 0; t < tiles; ++t) {
      const size_t r_count = std::min(kRows, m - t * kRows);
      u64* dst = pa.data() + t * kRows * kb * 3;
      for (size_t r = 0; r < r_count; ++r) {
        for (size_t p = 0; p < kb; ++p) {
          const u128 v = left(t * kRows + r, k0 + p);
          for (int l = 0; l < 3; ++l) dst[(p * r_count + r) * 3 + l] = limb(v, l);
        }
      }
    }
    // B panels in groups of kPanelGroup (so the packed group stays small and hot): panel q,
    // step p as [p][limb][lane], zero-padded past column n.
    for (size_t q0 = 0; q0 < panels; q0 += kPanelGroup) {
      const size_t group = std::min(kPanelGroup, panels - q0);
      const size_t j0 = q0 * kLanes, j1 = std::min(n, (q0 + group) * kLanes);
      resize_big(pb, group * kb * 3 * kLanes);
      std::fill(pb.begin(), pb.end(), u64{0});
      // Panel by panel, so the packed panel is written in order and each row of the source
      // is read 8 elements (two cache lines) at a time.
      for (size_t q = 0; q < group; ++q) {
        const size_t jq = j0 + q * kLanes, cols = std::min(kLanes, j1 - jq);
        u64* dst = pb.data() + q * kb * 3 * kLanes;
        for (size_t p = 0; p < kb; ++p, dst += 3 * kLanes) {
          for (size_t jj = 0; jj < cols; ++jj) {
            const u128 v = right(k0 + p, jq + jj);
            for (int l = 0; l < 3; ++l) dst[l * kLanes + jj] = limb(v, l);
          }
        }
      }
      for (size_t q = 0; q < group; ++q) {
        const size_t cols = std::min(kLanes, n - (q0 + q) * kLanes);
        const u64* bp = pb.data() + q * kb * 3 * kLanes;
        for (size_t t = 0; t < tiles; ++t) {
          const size_t r_count = std::min(kRows, m - t * kRows);
          ifma_rows<Bits>(r_count, pa.data() + t * kRows * kb * 3, bp, kb,
                          c.data() + t * kRows * n + (q0 + q) * kLanes, n, cols);
        }
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
  if (have_ifma()) {
    return gemm_ifma<128>([&](size_t i, size_t p) { return a[i * k + p]; },
                          [&](size_t p, size_t j) { return b[p * n + j]; }, c, m, k, n);
  }
  gemm_z2_128_scalar(a, b, c, m, k, n);
}

void gemm_share_portable(std::span<const u128> x1, std::span<const u128> x2,
                         std::span<const u128> y1, std::span<const u128> y2, std::span<u128> c,
                         size_t m, size_t k, size_t n, Modulus modulus) {
  check_shapes(x1.size(), y1.size(), c.size(), m, k, n);
  check_shapes(x2.size(), y2.size(), c.size(), m, k, n);
  std::vector<u128> sum(k * n), part(m * n);
  for (size_t p = 0; p < k * n; ++p) sum[p] = y1[p] + y2[p];
  gemm_z2_128_scalar(x1, sum, c, m, k, n);
  gemm_z2_128_scalar(x2, y1, part, m, k, n);
  for (size_t p = 0; p < m * n; ++p) {
    c[p] += part[p];
    if (modulus == Modulus::two64) c[p] = static_cast<u64>(c[p]);
  }
  cleanse(sum.data(), sum.size() * sizeof(u128));
  cleanse(part.data(), part.size() * sizeof(u128));
}

void gemm_share(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
                std::span<const u128> y2, std::span<u128> c, size_t m, size_t k, size_t n,
                Modulus modulus) {
  check_shapes(x1.size(), y1.size(), c.size(), m, k, n);
  check_shapes(x2.size(), y2.size(), c.size(), m, k, n);
  if (m == 0 || n == 0) return;
  if (have_ifma()) {
    // [x1 | x2] (m x 2k) by [y1 + y2 ; y1] (2k x n).
    const auto left = [&](size_t i, size_t p) { return p < k ? x1[i * k + p] : x2[i * k + p - k]; };
    const auto right = [&](size_t p, size_t j) {
      return p < k ? y1[p * n + j] + y2[p * n + j] : y1[(p - k) * n + j];
    };
    if (modulus == Modulus::two64) return gemm_ifma<64>(left, right, c, m, 2 * k, n);
    return gemm_ifma<128>(left, right, c, m, 2 * k, n);
  }
  gemm_share_portable(x1, x2, y1, y2, c, m, k, n, modulus);
}

std::string gemm_z2_128_backend() {
  return have_ifma() ? "avx512ifma" : "scalar";
}

}  // namespace ppi::gen
