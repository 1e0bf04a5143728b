#include "ring/z2k.hpp"

#include <bit>
#include <cstring>

#include "core/error.hpp"

namespace ppi {

// The bulk encodings below are plain memcpy because the host order is the wire order.
static_assert(std::endian::native == std::endian::little, "ppi assumes a little-endian host");
static_assert(sizeof(u128) == kU128Bytes);

std::string to_decimal(u128 v) {
  // Peel off 19 digits at a time so most divisions are 64-bit ones.
  constexpr u64 kTen19 = 10'000'000'000'000'000'000ULL;
  char buf[40];  // 2^128 - 1 has 39 digits
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    u64 chunk = static_cast<u64>(v % kTen19);
    v /= kTen19;
    // Full 19-digit chunks keep their leading zeros unless they are the most significant.
    for (int i = 0; i < 19 && (chunk != 0 || v != 0); ++i) {
      *--p = static_cast<char>('0' + chunk % 10);
      chunk /= 10;
    }
  } while (v != 0);
  if (p == end) *--p = '0';
  return std::string(p, end);
}

u128 parse_decimal_u128(std::string_view s) {
  if (s.empty()) throw Error(Errc::invalid_argument, "empty decimal string");
  constexpr u128 kMax = ~static_cast<u128>(0);
  u128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      throw Error(Errc::invalid_argument, "decimal string has a character that is not 0-9");
    }
    auto d = static_cast<unsigned>(c - '0');
    if (v > (kMax - d) / 10) throw Error(Errc::invalid_argument, "decimal value exceeds 2^128-1");
    v = v * 10 + d;
  }
  return v;
}

namespace {
void check_sizes(std::size_t elements, std::size_t bytes) {
  if (bytes != elements * kU128Bytes) {
    throw Error(Errc::invalid_argument, "byte buffer size is not 16 bytes per u128 element");
  }
}
template <class T>
void check_same(std::span<T> dst, std::span<const T> src) {
  if (dst.size() != src.size()) throw Error(Errc::invalid_argument, "span sizes differ");
}
}  // namespace

void encode_u128_le(std::span<const u128> in, std::span<std::uint8_t> out) {
  check_sizes(in.size(), out.size());
  if (!in.empty()) std::memcpy(out.data(), in.data(), out.size());
}

Bytes encode_u128_le(std::span<const u128> in) {
  Bytes out(in.size() * kU128Bytes);
  encode_u128_le(in, out);
  return out;
}

void decode_u128_le(ByteView in, std::span<u128> out) {
  check_sizes(out.size(), in.size());
  if (!out.empty()) std::memcpy(out.data(), in.data(), in.size());
}

// Plain index loops: gcc vectorizes the u64 ones (with a runtime overlap check, so dst == src
// stays correct). There is no SIMD add with carry between 64-bit lanes, so the u128 loops
// become scalar add/adc pairs; measured, they still run at about memory bandwidth.
void add_into(std::span<u64> dst, std::span<const u64> src) {
  check_same(dst, src);
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] += src[i];
}
void sub_into(std::span<u64> dst, std::span<const u64> src) {
  check_same(dst, src);
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] -= src[i];
}
void add_into(std::span<u128> dst, std::span<const u128> src) {
  check_same(dst, src);
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] += src[i];
}
void sub_into(std::span<u128> dst, std::span<const u128> src) {
  check_same(dst, src);
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] -= src[i];
}

}  // namespace ppi
