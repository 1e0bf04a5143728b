#include "dealer/sealing.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "crypto/csprng.hpp"

namespace ppi::dealer {
namespace {

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

void check(int rc, const char* what) {
  if (rc != 1) {
    ERR_clear_error();
    throw Error(Errc::crypto, std::string("AES-256-GCM: ") + what + " failed");
  }
}

Ctx new_ctx() {
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw Error(Errc::crypto, "AES-256-GCM: no cipher context");
  return ctx;
}

int len_of(std::size_t n) {
  if (n > (1u << 30)) throw Error(Errc::invalid_argument, "AES-256-GCM: message too long");
  return static_cast<int>(n);
}

}  // namespace

Bytes seal(const SealKey& key, ByteView plaintext, std::string_view aad) {
  Bytes out(kNonceBytes + plaintext.size() + kTagBytes);
  random_bytes({out.data(), kNonceBytes});
  Ctx ctx = new_ctx();
  check(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), out.data()), "init");
  int n = 0;
  check(EVP_EncryptUpdate(ctx.get(), nullptr, &n,
                          reinterpret_cast<const unsigned char*>(aad.data()), len_of(aad.size())),
        "aad");
  check(EVP_EncryptUpdate(ctx.get(), out.data() + kNonceBytes, &n, plaintext.data(),
                          len_of(plaintext.size())),
        "encrypt");
  check(EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonceBytes + n, &n), "final");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                            out.data() + kNonceBytes + plaintext.size()),
        "tag");
  return out;
}

Bytes open_sealed(const SealKey& key, ByteView sealed, std::string_view aad) {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    throw Error(Errc::crypto, "sealed blob too short");
  }
  const std::size_t length = sealed.size() - kNonceBytes - kTagBytes;
  Bytes out(length);
  Ctx ctx = new_ctx();
  check(EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()),
        "init");
  int n = 0;
  check(EVP_DecryptUpdate(ctx.get(), nullptr, &n,
                          reinterpret_cast<const unsigned char*>(aad.data()), len_of(aad.size())),
        "aad");
  check(EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data() + kNonceBytes, len_of(length)),
        "decrypt");
  Bytes tag(sealed.end() - kTagBytes, sealed.end());
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()), "tag");
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &n) != 1) {
    ERR_clear_error();
    cleanse(out);
    throw Error(Errc::crypto, "sealed blob does not verify (wrong key or tampered)");
  }
  return out;
}

MasterKey MasterKey::load(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  if (!in || hex.size() != 2 * kSealKeyBytes) {
    cleanse(hex.data(), hex.size());
    throw Error(Errc::config, "config keys.master_key_file: '" + path +
                                  "' must hold 64 hex characters (a 32-byte key)");
  }
  MasterKey key;
  try {
    Bytes raw = from_hex(hex);
    std::copy(raw.begin(), raw.end(), key.key_.begin());
    cleanse(raw);
  } catch (const Error&) {
    cleanse(hex.data(), hex.size());
    throw Error(Errc::config, "config keys.master_key_file: '" + path + "' is not hex");
  }
  cleanse(hex.data(), hex.size());
  return key;
}

Bytes MasterKey::seal(ByteView plaintext, std::string_view aad) const {
  return dealer::seal(key_, plaintext, aad);
}

Bytes MasterKey::open(ByteView sealed, std::string_view aad) const {
  return open_sealed(key_, sealed, aad);
}

}  // namespace ppi::dealer
