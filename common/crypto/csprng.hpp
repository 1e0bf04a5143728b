#pragma once
// Randomness from the operating system's CSPRNG (OpenSSL RAND_bytes), and the 128-bit seed
// type used for PRG/PRF keys (e.g. `shares_seed` of PROTOCOL.md section 5).

#include <array>
#include <cstdint>
#include <span>

#include "core/bytes.hpp"
#include "ring/z2k.hpp"

namespace ppi {

// A 128-bit secret seed. Its u128 form (used in decimal on the REST API) is the little-endian
// reading of `bytes`. The destructor wipes the bytes.
struct Seed128 {
  std::array<std::uint8_t, 16> bytes{};

  ~Seed128() { cleanse(bytes.data(), bytes.size()); }
  static Seed128 from_u128(u128 v);
  u128 to_u128() const { return load_u128_le(bytes.data()); }
};

// Fills `out` with cryptographically secure random bytes; throws Error(crypto) on failure.
void random_bytes(std::span<std::uint8_t> out);
u128 random_u128();
Seed128 random_seed();

}  // namespace ppi
