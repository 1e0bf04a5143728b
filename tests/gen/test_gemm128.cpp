#include <doctest/doctest.h>

#include <vector>

#include "core/error.hpp"
#include "crypto/csprng.hpp"
#include "gen/gemm128.hpp"

using namespace ppi;

namespace {

std::vector<u128> random_matrix(std::size_t n) {
  std::vector<u128> v(n);
  for (auto& x : v) x = random_u128();
  return v;
}

// Independent of both kernels: each entry of C as a dot product, one product at a time.
u128 dot(const std::vector<u128>& a, const std::vector<u128>& b, std::size_t i, std::size_t j,
         std::size_t k, std::size_t n) {
  u128 s = 0;
  for (std::size_t p = 0; p < k; ++p) s += a[i * k + p] * b[p * n + j];
  return s;
}

}  // namespace

TEST_CASE("gemm_z2_128 is the exact product mod 2^128 for shapes around the tile sizes") {
  INFO("backend: " << gen::gemm_z2_128_backend());
  // Rows around the 6-row tile, columns around the 8-lane panel, k across the 1024 block.
  const std::size_t shapes[][3] = {{1, 1, 1}, {6, 8, 8}, {7, 3, 9}, {13, 1030, 17}, {5, 2048, 8}};
  for (const auto& s : shapes) {
    const std::size_t m = s[0], k = s[1], n = s[2];
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(n);
    const auto a = random_matrix(m * k), b = random_matrix(k * n);
    std::vector<u128> fast(m * n), plain(m * n);
    gen::gemm_z2_128(a, b, fast, m, k, n);
    gen::gemm_z2_128_scalar(a, b, plain, m, k, n);
    CHECK(fast == plain);
    CHECK(fast[0] == dot(a, b, 0, 0, k, n));
    CHECK(fast[m * n - 1] == dot(a, b, m - 1, n - 1, k, n));
  }
}

TEST_CASE("gemm_z2_128 keeps every carry with all-ones inputs") {
  const std::size_t m = 7, k = 1500, n = 11;
  const std::vector<u128> a(m * k, ~u128{0}), b(k * n, ~u128{0});
  std::vector<u128> c(m * n);
  gen::gemm_z2_128(a, b, c, m, k, n);
  // (-1) (-1) summed k times.
  for (u128 v : c) CHECK(v == u128{k});
}

TEST_CASE("gemm_share is x1 (y1 + y2) + x2 y1, mod 2^128 or mod 2^64") {
  const std::size_t m = 9, k = 600, n = 13;  // inner dimension 1200: two K blocks
  const auto x1 = random_matrix(m * k), x2 = random_matrix(m * k);
  const auto y1 = random_matrix(k * n), y2 = random_matrix(k * n);
  std::vector<u128> full(m * n), low(m * n), sum(k * n), p1(m * n), p2(m * n);
  gen::gemm_share(x1, x2, y1, y2, full, m, k, n, gen::Modulus::two128);
  gen::gemm_share(x1, x2, y1, y2, low, m, k, n, gen::Modulus::two64);
  for (std::size_t i = 0; i < k * n; ++i) sum[i] = y1[i] + y2[i];
  gen::gemm_z2_128_scalar(x1, sum, p1, m, k, n);
  gen::gemm_z2_128_scalar(x2, y1, p2, m, k, n);
  std::vector<u128> portable_full(m * n), portable_low(m * n);
  gen::gemm_share_portable(x1, x2, y1, y2, portable_full, m, k, n, gen::Modulus::two128);
  gen::gemm_share_portable(x1, x2, y1, y2, portable_low, m, k, n, gen::Modulus::two64);
  for (std::size_t i = 0; i < m * n; ++i) {
    CHECK(full[i] == p1[i] + p2[i]);
    CHECK(low[i] == u128{static_cast<u64>(p1[i] + p2[i])});
  }
  CHECK(portable_full == full);
  CHECK(portable_low == low);
}

TEST_CASE("gemm_z2_128 rejects buffers that do not match the shape") {
  std::vector<u128> a(6), b(6), c(4);
  CHECK_THROWS_AS(gen::gemm_z2_128(a, b, c, 2, 3, 3), Error);
  try {
    gen::gemm_z2_128(a, b, c, 2, 3, 3);
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
  }
}
