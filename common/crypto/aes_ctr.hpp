#pragma once
// AES-128 in counter mode (NIST SP 800-38A): keystream block i is AES_key(IV + i), where the IV
// is the initial counter block read as a big-endian 128-bit integer and the addition wraps
// modulo 2^128. Runs on OpenSSL's EVP interface, which uses AES-NI/VAES where available.

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/bytes.hpp"

namespace ppi {

class AesCtr {
 public:
  static constexpr std::size_t kKeySize = 16;
  static constexpr std::size_t kBlockSize = 16;
  using Key = std::span<const std::uint8_t, kKeySize>;
  using Iv = std::span<const std::uint8_t, kBlockSize>;

  // Expands the key once; the key schedule lives in the EVP context, which OpenSSL wipes when
  // it is freed, so no copy of the key is kept here. Throws Error(crypto) on failure.
  AesCtr(Key key, Iv iv);
  ~AesCtr();
  AesCtr(const AesCtr&) = delete;
  AesCtr& operator=(const AesCtr&) = delete;
  // A moved-from AesCtr may only be destroyed or assigned to.
  AesCtr(AesCtr&& other) noexcept;
  AesCtr& operator=(AesCtr&& other) noexcept;

  // Restarts the stream at counter block `iv`, keeping the key schedule (cheap: a seek).
  void set_iv(Iv iv);
  // Writes the next out.size() keystream bytes. Calls continue one stream, also mid-block.
  void keystream(std::span<std::uint8_t> out);
  // data ^= next data.size() keystream bytes (encryption and decryption are the same).
  void apply(std::span<std::uint8_t> data);
  // out = in ^ keystream; in and out must have the same size and must not partially overlap.
  void apply(ByteView in, std::span<std::uint8_t> out);

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
};

}  // namespace ppi
