#pragma once
// Authenticated encryption for the dealer's group keys: AES-256-GCM (OpenSSL EVP) with a
// fresh random 96-bit nonce per message. Used at rest (under the dealer's master key, see
// docs/operations.md) and in transit between two members (under their pairwise transport key).
// Sealed form: nonce (12) || ciphertext || tag (16).

#include <array>
#include <cstdint>
#include <string>

#include "core/bytes.hpp"

namespace ppi::dealer {

inline constexpr std::size_t kSealKeyBytes = 32;
using SealKey = std::array<std::uint8_t, kSealKeyBytes>;

// `aad` binds the ciphertext to its purpose (owner, group, component...): a blob copied to
// another row or another dealer does not open.
Bytes seal(const SealKey& key, ByteView plaintext, std::string_view aad);
// Error(crypto) when the tag does not verify (wrong key, wrong aad, tampered or truncated).
Bytes open_sealed(const SealKey& key, ByteView sealed, std::string_view aad);

// The dealer's master key from `keys.master_key_file`: 64 hex characters (32 bytes), optional
// trailing newline. Error(config) naming the file when it cannot be read or is malformed.
class MasterKey {
 public:
  static MasterKey load(const std::string& path);
  ~MasterKey() { cleanse(key_.data(), key_.size()); }
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;

  Bytes seal(ByteView plaintext, std::string_view aad) const;
  Bytes open(ByteView sealed, std::string_view aad) const;

 private:
  MasterKey() = default;
  SealKey key_{};
};

}  // namespace ppi::dealer
