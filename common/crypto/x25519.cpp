#include "crypto/x25519.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "crypto/openssl_util.hpp"

namespace ppi {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

X25519Key raw_public(EVP_PKEY* key) {
  X25519Key pub;
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) {
    detail::throw_openssl("EVP_PKEY_get_raw_public_key");
  }
  return pub;
}

}  // namespace

X25519KeyPair X25519KeyPair::generate() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  if (!ctx) detail::throw_openssl("EVP_PKEY_CTX_new_id");
  detail::check_openssl(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
  EVP_PKEY* raw = nullptr;
  detail::check_openssl(EVP_PKEY_keygen(ctx.get(), &raw), "EVP_PKEY_keygen");
  Pkey key(raw);
  X25519KeyPair pair;
  std::size_t len = pair.private_key.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), pair.private_key.data(), &len) != 1 ||
      len != pair.private_key.size()) {
    detail::throw_openssl("EVP_PKEY_get_raw_private_key");
  }
  pair.public_key = raw_public(key.get());
  return pair;
}

X25519KeyPair X25519KeyPair::from_private(
    std::span<const std::uint8_t, kX25519KeySize> private_key) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                        private_key.size()));
  if (!key) detail::throw_openssl("EVP_PKEY_new_raw_private_key");
  X25519KeyPair pair;
  std::copy(private_key.begin(), private_key.end(), pair.private_key.begin());
  pair.public_key = raw_public(key.get());
  return pair;
}

X25519Key x25519(std::span<const std::uint8_t, kX25519KeySize> private_key,
                 std::span<const std::uint8_t, kX25519KeySize> peer_public) {
  Pkey own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                        private_key.size()));
  if (!own) detail::throw_openssl("EVP_PKEY_new_raw_private_key");
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(),
                                        peer_public.size()));
  if (!peer) detail::throw_openssl("EVP_PKEY_new_raw_public_key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (!ctx) detail::throw_openssl("EVP_PKEY_CTX_new");
  detail::check_openssl(EVP_PKEY_derive_init(ctx.get()), "EVP_PKEY_derive_init");
  detail::check_openssl(EVP_PKEY_derive_set_peer(ctx.get(), peer.get()),
                        "EVP_PKEY_derive_set_peer");
  X25519Key secret;
  std::size_t len = secret.size();
  // OpenSSL itself fails the derivation on an all-zero result (RFC 7748 section 6.1).
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != secret.size()) {
    detail::throw_openssl("EVP_PKEY_derive (low-order peer public key?)");
  }
  // Checked again here so the guarantee does not depend on the provider.
  static constexpr X25519Key kZero{};
  if (CRYPTO_memcmp(secret.data(), kZero.data(), secret.size()) == 0) {
    throw Error(Errc::crypto, "X25519 shared secret is all zero (low-order peer public key)");
  }
  return secret;
}

}  // namespace ppi
