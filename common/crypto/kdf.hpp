#pragma once
// Key derivation (HKDF-SHA256, RFC 5869) and the keyed PRF of pseudo-random secret sharing
// (PROTOCOL.md section 4: s_i = PRF(K_i, batch, index)).

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/bytes.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "ring/z2k.hpp"

namespace ppi {

// HKDF-SHA256 (extract then expand) of RFC 5869. An empty salt means HashLen zero bytes, as
// the RFC says. len must be at most 255 * 32. Throws Error(crypto) on failure.
Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t len);

// Prf: a family of independent pseudo-random Z_2^128 streams, one per domain, under one key.
//
// Definition (normative: every dealer holding K must compute the same values):
//   K_domain     = HKDF-SHA256(ikm = K (16 bytes), salt = "ppi-prf-v1", info = domain, L = 16)
//   PRF(K, domain, j) = element j of the Prg stream seeded by K_domain
//                     = LE128(AES-128_{K_domain}(BE128(j)))       (see prg.hpp)
// The domain is any byte string, e.g. a batch id; distinct domains give independent streams.
// The salt versions the construction and separates it from other HKDF uses of the same key.
class Prf {
 public:
  explicit Prf(const Seed128& key) : key_(key) {}

  // The stream of one domain, for callers that read a long range of it: the HKDF and the AES
  // key schedule are then paid once.
  Prg stream(ByteView domain) const;
  // out[i] = PRF(K, domain, first_index + i).
  void eval(ByteView domain, u128 first_index, std::span<u128> out) const;

 private:
  Seed128 key_;  // wiped by Seed128's destructor
};

}  // namespace ppi
