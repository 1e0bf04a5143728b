#pragma once
// Matrix products in Z_2^128, the dealers' dominant cost for MATRIX_TRIPLE and MASKED_TRIPLE.
//
// gemm_z2_128 splits each element into 52-bit limbs and, on CPUs with AVX-512 IFMA, runs the
// limb products as 52 x 52 -> 104-bit multiply-adds (vpmadd52luq/huq), 8 lanes at a time;
// only the limb products below 2^128 are formed. Elsewhere it falls back to a blocked scalar
// loop. Both give the exact product mod 2^128.

#include <cstddef>
#include <span>
#include <string>

#include "ring/z2k.hpp"

namespace ppi::gen {

// C (m x n) = A (m x k) B (k x n) mod 2^128, row-major. Throws Error(invalid_argument) when a
// buffer size does not match.
void gemm_z2_128(std::span<const u128> a, std::span<const u128> b, std::span<u128> c, std::size_t m,
                 std::size_t k, std::size_t n);

enum class Modulus { two64, two128 };

// c = x1 (y1 + y2) + x2 y1 (x: m x k, y: k x n) mod 2^128, or mod 2^64 zero-extended: a
// sub-group's additive share of the product of two replicated matrix sharings (rss.hpp), as
// one product with inner dimension 2k read straight from the components. Mod 2^64 runs four
// limb products per step instead of nine.
void gemm_share(std::span<const u128> x1, std::span<const u128> x2, std::span<const u128> y1,
                std::span<const u128> y2, std::span<u128> c, std::size_t m, std::size_t k,
                std::size_t n, Modulus modulus);

// The same without IFMA: what gemm_share runs on other CPUs (exposed so tests cover it
// everywhere).
void gemm_share_portable(std::span<const u128> x1, std::span<const u128> x2,
                         std::span<const u128> y1, std::span<const u128> y2, std::span<u128> c,
                         std::size_t m, std::size_t k, std::size_t n, Modulus modulus);

// The plain i-k-j loop on unsigned __int128 (the reference the benchmark compares with).
void gemm_z2_128_scalar(std::span<const u128> a, std::span<const u128> b, std::span<u128> c,
                        std::size_t m, std::size_t k, std::size_t n);

// "avx512ifma" or "scalar": what gemm_z2_128 runs on this CPU.
std::string gemm_z2_128_backend();

}  // namespace ppi::gen
