#include "crypto/aes_ctr.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "core/error.hpp"
#include "crypto/openssl_util.hpp"

namespace ppi {

namespace {

// Keystream = encryption of zeros. The zeros come from this small static buffer, which stays
// in L1 cache, so the keystream is written straight into the destination in one pass (no
// memset of the destination first, which would cost a second pass over memory). Measured on
// the dev machine (AMD EPYC, VAES), 64 MiB outputs: 8 KiB pieces 9.9 GB/s, 32 KiB 9.2 GB/s
// (a larger source competes with the output stream for L1); for 1 MiB outputs 8 KiB costs
// about 2% of per-call overhead against 32 KiB.
constexpr std::size_t kPiece = 8 * 1024;
alignas(64) const std::uint8_t kZeros[kPiece] = {};

// EVP_EncryptUpdate takes an int length, so larger buffers go in pieces.
constexpr std::size_t kMaxUpdate = std::size_t{1} << 30;

void update(EVP_CIPHER_CTX* ctx, const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  int outl = 0;
  if (EVP_EncryptUpdate(ctx, out, &outl, in, static_cast<int>(n)) != 1 ||
      outl != static_cast<int>(n)) {
    detail::throw_openssl("EVP_EncryptUpdate");
  }
}

}  // namespace

AesCtr::AesCtr(Key key, Iv iv) : ctx_(EVP_CIPHER_CTX_new()) {
  if (ctx_ == nullptr) detail::throw_openssl("EVP_CIPHER_CTX_new");
  if (EVP_EncryptInit_ex(ctx_, EVP_aes_128_ctr(), nullptr, key.data(), iv.data()) != 1) {
    EVP_CIPHER_CTX_free(ctx_);
    detail::throw_openssl("EVP_EncryptInit_ex");
  }
}

AesCtr::~AesCtr() {
  EVP_CIPHER_CTX_free(ctx_);
}  // wipes the key schedule; null is fine

AesCtr::AesCtr(AesCtr&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

AesCtr& AesCtr::operator=(AesCtr&& other) noexcept {
  if (this != &other) {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void AesCtr::set_iv(Iv iv) {
  // Null cipher and key: OpenSSL keeps the key schedule and only resets the counter state.
  detail::check_openssl(EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, iv.data()),
                        "EVP_EncryptInit_ex");
}

void AesCtr::keystream(std::span<std::uint8_t> out) {
  for (std::size_t off = 0; off < out.size(); off += kPiece) {
    update(ctx_, kZeros, out.data() + off, std::min(kPiece, out.size() - off));
  }
}

void AesCtr::apply(std::span<std::uint8_t> data) {
  apply(data, data);
}

void AesCtr::apply(ByteView in, std::span<std::uint8_t> out) {
  if (in.size() != out.size()) throw Error(Errc::invalid_argument, "AesCtr::apply size mismatch");
  for (std::size_t off = 0; off < in.size(); off += kMaxUpdate) {
    update(ctx_, in.data() + off, out.data() + off, std::min(kMaxUpdate, in.size() - off));
  }
}

}  // namespace ppi
