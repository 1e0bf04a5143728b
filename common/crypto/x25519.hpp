#pragma once
// X25519 Diffie-Hellman (RFC 7748) on OpenSSL EVP_PKEY, for key agreement between dealers.

#include <array>
#include <cstdint>
#include <span>

#include "core/bytes.hpp"

namespace ppi {

inline constexpr std::size_t kX25519KeySize = 32;
using X25519Key = std::array<std::uint8_t, kX25519KeySize>;

struct X25519KeyPair {
  X25519Key private_key{};
  X25519Key public_key{};

  ~X25519KeyPair() { cleanse(private_key.data(), private_key.size()); }
  static X25519KeyPair generate();
  // Derives the public key of a raw (RFC 7748) private key.
  static X25519KeyPair from_private(std::span<const std::uint8_t, kX25519KeySize> private_key);
};

// The raw shared secret X25519(private_key, peer_public). Throws Error(crypto) if the result
// is all zero (peer_public is a low-order point: the "secret" would be known to anyone).
// The result is secret: feed it to a KDF (hkdf_sha256) and cleanse it.
X25519Key x25519(std::span<const std::uint8_t, kX25519KeySize> private_key,
                 std::span<const std::uint8_t, kX25519KeySize> peer_public);

}  // namespace ppi
