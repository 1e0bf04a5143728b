// Ring encodings (z2k.hpp) and fixed point (fixed_point.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "error_code.hpp"
#include "ring/fixed_point.hpp"
#include "ring/z2k.hpp"

using namespace ppi;

namespace {
constexpr u128 kU128Max = ~static_cast<u128>(0);

using ppi::test::error_code;
}  // namespace

TEST_CASE("decimal: known values and round trips") {
  CHECK(to_decimal(0) == "0");
  CHECK(to_decimal(7) == "7");
  CHECK(to_decimal(10'000'000'000'000'000'000ULL) == "10000000000000000000");
  CHECK(to_decimal(static_cast<u128>(1) << 64) == "18446744073709551616");
  CHECK(to_decimal(kU128Max) == "340282366920938463463374607431768211455");

  CHECK(parse_decimal_u128("0") == 0);
  CHECK(parse_decimal_u128("18446744073709551616") == static_cast<u128>(1) << 64);
  CHECK(parse_decimal_u128("340282366920938463463374607431768211455") == kU128Max);
  CHECK(parse_decimal_u128("007") == 7);  // leading zeros are accepted

  // Values around every power of ten exercise the 19-digit chunking of to_decimal.
  u128 p = 1;
  for (int i = 0; i < 39; ++i, p *= 10) {
    for (u128 v : {p - 1, p, p + 1}) CHECK(parse_decimal_u128(to_decimal(v)) == v);
  }
  u128 x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 1000; ++i) {
    x = x * 0x5851f42d4c957f2dULL + 1442695040888963407ULL;  // LCG over Z_2^128
    CHECK(parse_decimal_u128(to_decimal(x)) == x);
  }
}

TEST_CASE("decimal: strict parsing rejects bad input") {
  for (const char* bad :
       {"", "-1", "+1", "1x", "x1", " 1", "1 ", "0x10", "1.0", "1e3",
        "340282366920938463463374607431768211456",  // 2^128
        "340282366920938463463374607431768211460", "1000000000000000000000000000000000000000"}) {
    CAPTURE(bad);
    CHECK(error_code([&] { parse_decimal_u128(bad); }) == Errc::invalid_argument);
  }
}

TEST_CASE("little-endian load/store and bulk encode/decode") {
  std::uint8_t b[16];
  store_u64_le(b, 0x0102030405060708ULL);
  CHECK(b[0] == 0x08);
  CHECK(b[7] == 0x01);
  CHECK(load_u64_le(b) == 0x0102030405060708ULL);

  const u128 v = static_cast<u128>(0x1112131415161718ULL) << 64 | 0x0102030405060708ULL;
  store_u128_le(b, v);
  CHECK(b[0] == 0x08);
  CHECK(b[8] == 0x18);
  CHECK(b[15] == 0x11);
  CHECK(load_u128_le(b) == v);

  std::vector<u128> in(1001);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = kU128Max / (i + 1) * 0xabcdef;
  Bytes enc = encode_u128_le(in);
  REQUIRE(enc.size() == in.size() * 16);
  for (std::size_t i = 0; i < in.size(); ++i) CHECK(load_u128_le(enc.data() + 16 * i) == in[i]);
  std::vector<u128> out(in.size());
  decode_u128_le(enc, out);
  CHECK(out == in);

  std::vector<u128> wrong(in.size() - 1);
  CHECK(error_code([&] { decode_u128_le(enc, wrong); }) == Errc::invalid_argument);
  CHECK(error_code([&] { encode_u128_le(in, std::span<std::uint8_t>(enc).first(15)); }) ==
        Errc::invalid_argument);
}

TEST_CASE("add_into / sub_into wrap around in the ring") {
  const std::size_t n = 1003;  // not a multiple of any vector width
  std::vector<u64> a(n), b(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = ~0ULL - i;
    b[i] = 2 * i + 1;
  }
  std::vector<u64> s = a;
  add_into(std::span<u64>(s), std::span<const u64>(b));
  for (std::size_t i = 0; i < n; ++i) CHECK(s[i] == static_cast<u64>(a[i] + b[i]));
  CHECK(s[0] == 0);  // 2^64 - 1 + 1 wraps
  sub_into(std::span<u64>(s), std::span<const u64>(b));
  CHECK(s == a);
  add_into(std::span<u64>(s), std::span<const u64>(s));  // dst and src the same span
  for (std::size_t i = 0; i < n; ++i) CHECK(s[i] == static_cast<u64>(2 * a[i]));

  std::vector<u128> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = static_cast<u128>(~0ULL) + i;  // carries out of the low 64 bits
    y[i] = 1 + i;
  }
  std::vector<u128> z = x;
  add_into(std::span<u128>(z), std::span<const u128>(y));
  CHECK(z[0] == static_cast<u128>(1) << 64);
  for (std::size_t i = 0; i < n; ++i) CHECK(z[i] == x[i] + y[i]);
  sub_into(std::span<u128>(z), std::span<const u128>(y));
  CHECK(z == x);
  std::vector<u128> zero(1, 0), one(1, 1);
  sub_into(std::span<u128>(zero), std::span<const u128>(one));
  CHECK(zero[0] == kU128Max);

  std::vector<u64> shorter(n - 1);
  CHECK(error_code([&] { add_into(std::span<u64>(shorter), std::span<const u64>(b)); }) ==
        Errc::invalid_argument);
}

TEST_CASE("fixed point: encoding, rounding, negatives") {
  const FixedPoint fp(16);
  CHECK(fp.frac_bits() == 16);
  CHECK(fp.encode(0.0) == 0);
  CHECK(fp.encode(1.5) == 98304);
  CHECK(fp.encode(-1.5) == static_cast<u64>(-98304LL));
  CHECK(fp.decode(fp.encode(-1.5)) == -1.5);
  const double ulp = std::ldexp(1.0, -16);
  CHECK(fp.encode(-ulp) == ~0ULL);  // -1 ulp is all ones in two's complement
  CHECK(fp.decode(~0ULL) == -ulp);
  CHECK(fp.encode(0.4 * ulp) == 0);
  CHECK(fp.encode(0.6 * ulp) == 1);
  CHECK(fp.encode(-0.6 * ulp) == ~0ULL);
  for (double x : {3.14159, -2.71828, 1e-3, -12345.678, 1e9}) {
    CAPTURE(x);
    CHECK(std::fabs(fp.decode(fp.encode(x)) - x) <= ulp / 2);
  }

  const std::vector<double> xs = {0.25, -0.25, 100.0, -7.5};
  const std::vector<u64> enc = fp.encode(xs);
  REQUIRE(enc.size() == xs.size());
  CHECK(enc[1] == static_cast<u64>(-16384LL));
  CHECK(fp.decode(enc) == xs);

  // Frac bits 0 and 40 are the ends of the allowed range.
  CHECK(FixedPoint(0).encode(-3.0) == static_cast<u64>(-3LL));
  CHECK(FixedPoint(40).decode(FixedPoint(40).encode(-0.5)) == -0.5);
}

TEST_CASE("fixed point: range and configuration errors") {
  CHECK(error_code([] { FixedPoint(-1); }) == Errc::config);
  CHECK(error_code([] { FixedPoint(41); }) == Errc::config);

  const FixedPoint fp(16);
  const double limit = std::ldexp(1.0, 62 - 16);  // |x| * 2^16 must stay below 2^62
  CHECK(error_code([&] { fp.encode(limit); }) == Errc::invalid_argument);
  CHECK(error_code([&] { fp.encode(-limit); }) == Errc::invalid_argument);
  CHECK(fp.encode(limit - 1.0) == (static_cast<u64>(1) << 62) - (1 << 16));
  CHECK(fp.encode(-(limit - 1.0)) == static_cast<u64>(-((1LL << 62) - (1 << 16))));
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    CHECK(error_code([&] { fp.encode(bad); }) == Errc::invalid_argument);
  }
  const std::vector<double> xs = {1.0, limit};
  CHECK(error_code([&] { fp.encode(xs); }) == Errc::invalid_argument);
}

TEST_CASE("truncate_plain is an arithmetic shift (floor division)") {
  CHECK(truncate_plain(static_cast<u64>(-5LL), 1) == static_cast<u64>(-3LL));
  CHECK(truncate_plain(~0ULL, 16) == ~0ULL);  // -1 ulp >> f stays -1
  CHECK(truncate_plain(static_cast<u64>(5), 1) == 2);
  CHECK(truncate_plain(0x8000000000000000ULL, 63) == ~0ULL);
  CHECK(truncate_plain(12345, 0) == 12345);
  CHECK(error_code([] { truncate_plain(1, 64); }) == Errc::invalid_argument);
  CHECK(error_code([] { truncate_plain(1, -1); }) == Errc::invalid_argument);

  // A fixed-point product in the ring, truncated, is the encoding of the real product.
  const FixedPoint fp(16);
  const u64 prod = fp.encode(-1.5) * fp.encode(2.25);  // 2f fractional bits, wraps mod 2^64
  CHECK(truncate_plain(prod, 16) == fp.encode(-3.375));
  CHECK(fp.decode(truncate_plain(fp.encode(-0.75) * fp.encode(-0.5), 16)) == 0.375);
}
