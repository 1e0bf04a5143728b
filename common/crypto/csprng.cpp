#include "crypto/csprng.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "crypto/openssl_util.hpp"

namespace ppi {

Seed128 Seed128::from_u128(u128 v) {
  Seed128 s;
  store_u128_le(s.bytes.data(), v);
  return s;
}

void random_bytes(std::span<std::uint8_t> out) {
  // RAND_bytes takes an int length.
  constexpr std::size_t kMaxChunk = std::size_t{1} << 30;
  for (std::size_t off = 0; off < out.size(); off += kMaxChunk) {
    const std::size_t n = std::min(kMaxChunk, out.size() - off);
    detail::check_openssl(RAND_bytes(out.data() + off, static_cast<int>(n)), "RAND_bytes");
  }
}

u128 random_u128() {
  Seed128 s = random_seed();
  return s.to_u128();
}

Seed128 random_seed() {
  Seed128 s;
  random_bytes(s.bytes);
  return s;
}

}  // namespace ppi
