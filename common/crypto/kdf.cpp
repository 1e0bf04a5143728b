#include "crypto/kdf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "crypto/openssl_util.hpp"

namespace ppi {

namespace {

struct KdfFree {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

// OSSL_PARAM wants a non-const pointer and treats a null one as "absent", so empty inputs
// point at a dummy byte instead.
void* param_data(ByteView v) {
  static std::uint8_t dummy = 0;
  return v.empty() ? &dummy : const_cast<std::uint8_t*>(v.data());
}

constexpr char kPrfSalt[] = "ppi-prf-v1";

}  // namespace

Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t len) {
  if (len == 0 || len > 255 * 32) {
    throw Error(Errc::invalid_argument, "HKDF-SHA256 output length must be in [1, 8160]");
  }
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) detail::throw_openssl("EVP_KDF_fetch(HKDF)");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) detail::throw_openssl("EVP_KDF_CTX_new");

  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, param_data(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, param_data(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, param_data(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  Bytes out(len);
  detail::check_openssl(EVP_KDF_derive(ctx.get(), out.data(), out.size(), params),
                        "EVP_KDF_derive(HKDF)");
  return out;  // the KDF context wipes its copy of the key when freed
}

Prg Prf::stream(ByteView domain) const {
  Bytes k = hkdf_sha256(key_.bytes, as_bytes(std::string_view(kPrfSalt, sizeof(kPrfSalt) - 1)),
                        domain, 16);
  Seed128 sub;
  std::copy(k.begin(), k.end(), sub.bytes.begin());
  cleanse(k);
  return Prg(sub);
}

void Prf::eval(ByteView domain, u128 first_index, std::span<u128> out) const {
  stream(domain).fill_u128(first_index, out);
}

}  // namespace ppi
