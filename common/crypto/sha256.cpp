#include "crypto/sha256.hpp"

#include <openssl/evp.h>

#include <utility>

#include "crypto/openssl_util.hpp"

namespace ppi {

Sha256Digest sha256(ByteView data) {
  Sha256Digest out;
  unsigned int len = 0;
  detail::check_openssl(
      EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), "EVP_Digest");
  return out;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) detail::throw_openssl("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    detail::throw_openssl("EVP_DigestInit_ex");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

Sha256& Sha256::update(ByteView data) {
  detail::check_openssl(EVP_DigestUpdate(ctx_, data.data(), data.size()), "EVP_DigestUpdate");
  return *this;
}

Sha256Digest Sha256::finish() {
  Sha256Digest out;
  unsigned int len = 0;
  detail::check_openssl(EVP_DigestFinal_ex(ctx_, out.data(), &len), "EVP_DigestFinal_ex");
  // Restart for the next message (the digest type is kept by the context).
  detail::check_openssl(EVP_DigestInit_ex(ctx_, nullptr, nullptr), "EVP_DigestInit_ex");
  return out;
}

}  // namespace ppi
