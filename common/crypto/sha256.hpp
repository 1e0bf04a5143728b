#pragma once
// SHA-256 (FIPS 180-4) on OpenSSL EVP: one-shot and incremental.

#include <openssl/types.h>

#include <array>
#include <cstdint>

#include "core/bytes.hpp"

namespace ppi {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(ByteView data);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  // A moved-from Sha256 may only be destroyed or assigned to.
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;

  Sha256& update(ByteView data);
  // The digest of everything since construction or the previous finish(); the object is then
  // ready for a new message.
  Sha256Digest finish();

 private:
  EVP_MD_CTX* ctx_ = nullptr;
};

}  // namespace ppi
