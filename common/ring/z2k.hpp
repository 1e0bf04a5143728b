#pragma once
// The rings of PROTOCOL.md section 2: Z_2^64 (values, semi-honest shares) and Z_2^128 (MAC'd
// shares and MACs). Unsigned wraparound arithmetic *is* the ring arithmetic, so u64 and u128
// are used directly; this header adds the encodings: fixed-width little-endian bytes (the wire
// and storage format, 8 bytes per u64, 16 per u128) and decimal strings (the REST fields
// `shares_seed` and `mac_key_mask`).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace ppi {

using u64 = std::uint64_t;
using u128 = unsigned __int128;

inline constexpr std::size_t kU64Bytes = 8;
inline constexpr std::size_t kU128Bytes = 16;

// Little-endian load/store of single elements. `p` must point at 8 (u64) or 16 (u128) bytes.
// The wire and storage format is little-endian; on a little-endian host (checked below) a load
// or store is one unaligned memcpy, which gcc compiles to a single move.
static_assert(std::endian::native == std::endian::little, "ppi assumes a little-endian host");
inline u64 load_u64_le(const std::uint8_t* p) noexcept {
  u64 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u64_le(std::uint8_t* p, u64 v) noexcept {
  std::memcpy(p, &v, sizeof v);
}
inline u128 load_u128_le(const std::uint8_t* p) noexcept {
  u128 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u128_le(std::uint8_t* p, u128 v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

// Decimal form of a u128: digits only, no sign, no leading zeros ("0" for zero).
std::string to_decimal(u128 v);
// Parses a decimal u128. These strings come from the network, so parsing is strict: throws
// Error(invalid_argument) on an empty string, any character that is not 0-9 (which rejects
// signs and whitespace) or a value above 2^128 - 1. Leading zeros are accepted.
u128 parse_decimal_u128(std::string_view s);

// Bulk encodings: out.size() (resp. in.size()) must be 16 * the element count, else
// Error(invalid_argument).
void encode_u128_le(std::span<const u128> in, std::span<std::uint8_t> out);
Bytes encode_u128_le(std::span<const u128> in);
void decode_u128_le(ByteView in, std::span<u128> out);

// Element-wise dst[i] += src[i] / dst[i] -= src[i] in the ring. Sizes must match, else
// Error(invalid_argument). dst and src may be the same span.
void add_into(std::span<u64> dst, std::span<const u64> src);
void sub_into(std::span<u64> dst, std::span<const u64> src);
void add_into(std::span<u128> dst, std::span<const u128> src);
void sub_into(std::span<u128> dst, std::span<const u128> src);

}  // namespace ppi
