// Crypto primitives: known-answer tests against the published vectors, and the PRG/PRF
// stream definitions checked against independent computations.
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/aes_ctr.hpp"
#include "crypto/csprng.hpp"
#include "crypto/kdf.hpp"
#include "crypto/prg.hpp"
#include "crypto/sha256.hpp"
#include "crypto/x25519.hpp"
#include "error_code.hpp"

using namespace ppi;

namespace {

using ppi::test::error_code;

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(std::string_view hex) {
  Bytes b = from_hex(hex);
  REQUIRE(b.size() == N);
  std::array<std::uint8_t, N> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
  return to_hex(a);
}

// Independent reference for the PRG: one AES-128-ECB block encryption of BE128(j).
u128 aes_ecb_reference(const Seed128& seed, u128 j) {
  std::array<std::uint8_t, 16> in{}, out{};
  for (int i = 15; i >= 0; --i, j >>= 8)
    in[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(j);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  REQUIRE(ctx != nullptr);
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, seed.bytes.data(), nullptr) == 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  REQUIRE(EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), 16) == 1);
  REQUIRE(len == 16);
  EVP_CIPHER_CTX_free(ctx);
  u128 v = 0;
  for (int i = 15; i >= 0; --i) v = v << 8 | out[static_cast<std::size_t>(i)];  // little-endian
  return v;
}

Seed128 seed_of(u128 v) {
  return Seed128::from_u128(v);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AES-128-CTR: NIST SP 800-38A, F.5.1 CTR-AES128.Encrypt (and F.5.2, the same keystream).

TEST_CASE("AesCtr: SP 800-38A F.5.1 CTR-AES128 known answer, all four blocks") {
  const auto key = hex_array<16>("2b7e151628aed2a6abf7158809cf4f3c");
  const auto iv = hex_array<16>("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  const Bytes plain = from_hex(
      "6bc1bee22e409f96e93d7e117393172a"
      "ae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52ef"
      "f69f2445df4f9b17ad2b417be66c3710");
  const std::string cipher_hex =
      "874d6191b620e3261bef6864990db6ce"
      "9806f66b7970fdff8617187bb9fffdff"
      "5ae4df3edbd5d35e5b4f09020db03eab"
      "1e031dda2fbe03d1792170a0f3009cee";

  Bytes buf = plain;
  AesCtr aes(key, iv);
  aes.apply(buf);
  CHECK(to_hex(buf) == cipher_hex);

  // Decryption is the same operation after a seek back to the initial counter block.
  aes.set_iv(iv);
  aes.apply(buf);
  CHECK(buf == plain);

  // Calls continue one stream even when they split blocks (5 + 40 + 19 bytes).
  aes.set_iv(iv);
  Bytes out(plain.size());
  std::size_t off = 0;
  for (std::size_t n : {5, 40, 19}) {
    aes.apply(ByteView(plain).subspan(off, n), std::span<std::uint8_t>(out).subspan(off, n));
    off += n;
  }
  CHECK(to_hex(out) == cipher_hex);

  // keystream() is the encryption of zeros: plaintext XOR ciphertext.
  aes.set_iv(iv);
  Bytes ks(plain.size());
  aes.keystream(ks);
  Bytes cipher = from_hex(cipher_hex);
  for (std::size_t i = 0; i < ks.size(); ++i) CHECK((ks[i] ^ plain[i]) == cipher[i]);

  // Moving keeps the state.
  aes.set_iv(iv);
  AesCtr moved = std::move(aes);
  Bytes again = plain;
  moved.apply(again);
  CHECK(to_hex(again) == cipher_hex);

  Bytes small(3);
  CHECK(error_code([&] { moved.apply(plain, small); }) == Errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// PRG (the stream definition of prg.hpp / PROTOCOL.md section 5).

TEST_CASE("Prg: element j is AES-128_seed(BE128(j)) read little-endian") {
  const Seed128 seed = seed_of(static_cast<u128>(0x0123456789abcdefULL) << 64 | 0xfedcba98ULL);
  Prg prg(seed);
  std::vector<u128> out(300);
  prg.fill_u128(0, out);
  for (std::size_t j = 0; j < out.size(); ++j) {
    CAPTURE(j);
    CHECK(out[j] == aes_ecb_reference(seed, j));
  }
  // Counter carries: across the 32-bit boundary (OpenSSL's ctr32 fast path), across 64 bits,
  // and the wrap from 2^128 - 1 to 0.
  for (u128 start : {(static_cast<u128>(1) << 32) - 2, (static_cast<u128>(1) << 64) - 2,
                     ~static_cast<u128>(0) - 1}) {
    std::vector<u128> v(4);
    prg.fill_u128(start, v);
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == aes_ecb_reference(seed, start + i));
  }
  CHECK(prg.at(12345) == aes_ecb_reference(seed, 12345));
}

TEST_CASE("Prg: random access, odd lengths, seeds") {
  Prg prg(seed_of(42));
  // Large enough to cross many internal 8 KiB pieces.
  const std::size_t n = 200'000;
  std::vector<u128> all(n);
  prg.fill_u128(0, all);
  std::vector<u128> tail(n - 1000);
  prg.fill_u128(1000, tail);
  CHECK(std::equal(tail.begin(), tail.end(), all.begin() + 1000));

  // Byte lengths that are neither block- nor piece-aligned are prefixes of the same stream.
  const auto* all_bytes = reinterpret_cast<const std::uint8_t*>(all.data());
  for (std::size_t len : {1, 15, 17, 8 * 1024 - 1, 8 * 1024 + 1, 32 * 1024 + 5, 100'003}) {
    CAPTURE(len);
    Bytes b(len);
    prg.fill_bytes(7, b);
    CHECK(std::equal(b.begin(), b.end(), all_bytes + 7 * 16));
  }

  // Different seeds give different streams; the same seed the same one.
  std::vector<u128> other(64), same(64);
  Prg(seed_of(43)).fill_u128(0, other);
  Prg(seed_of(42)).fill_u128(0, same);
  CHECK(std::equal(same.begin(), same.end(), all.begin()));
  std::size_t equal_elements = 0;
  for (std::size_t i = 0; i < other.size(); ++i) equal_elements += other[i] == all[i];
  CHECK(equal_elements == 0);
}

// ---------------------------------------------------------------------------------------------
// CSPRNG and seeds.

TEST_CASE("csprng and Seed128") {
  const u128 v = static_cast<u128>(0x0011223344556677ULL) << 64 | 0x8899aabbccddeeffULL;
  const Seed128 s = Seed128::from_u128(v);
  CHECK(s.bytes[0] == 0xff);  // little-endian
  CHECK(s.bytes[15] == 0x00);
  CHECK(s.to_u128() == v);

  CHECK(random_seed().bytes != random_seed().bytes);
  CHECK(random_u128() != random_u128());
  Bytes buf(4096);
  random_bytes(buf);
  std::size_t zeros = std::count(buf.begin(), buf.end(), 0);
  CHECK(zeros < 64);  // about 16 expected
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4 / NIST CSRC example values).

TEST_CASE("sha256 known answers") {
  CHECK(hex(sha256({})) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex(sha256(as_bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(hex(sha256(as_bytes(m448))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  // One million 'a' through the incremental API, in uneven pieces.
  Sha256 h;
  const std::string chunk(999, 'a');
  std::size_t fed = 0;
  while (fed + chunk.size() <= 1'000'000) {
    h.update(as_bytes(chunk));
    fed += chunk.size();
  }
  h.update(as_bytes(std::string(1'000'000 - fed, 'a')));
  CHECK(hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  // After finish() the object hashes a new message.
  h.update(as_bytes("ab")).update(as_bytes("c"));
  CHECK(hex(h.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---------------------------------------------------------------------------------------------
// X25519 (RFC 7748).

TEST_CASE("x25519: RFC 7748 section 5.2 first vector") {
  const auto scalar =
      hex_array<32>("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const auto u = hex_array<32>("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  CHECK(hex(x25519(scalar, u)) ==
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

TEST_CASE("x25519: RFC 7748 section 6.1 Alice and Bob") {
  const auto alice = X25519KeyPair::from_private(
      hex_array<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const auto bob = X25519KeyPair::from_private(
      hex_array<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  CHECK(hex(alice.public_key) ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(hex(bob.public_key) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  CHECK(hex(x25519(alice.private_key, bob.public_key)) == shared);
  CHECK(hex(x25519(bob.private_key, alice.public_key)) == shared);
}

TEST_CASE("x25519: generated keys agree; low-order points are rejected") {
  const auto a = X25519KeyPair::generate();
  const auto b = X25519KeyPair::generate();
  CHECK(a.public_key != b.public_key);
  CHECK(X25519KeyPair::from_private(a.private_key).public_key == a.public_key);
  CHECK(x25519(a.private_key, b.public_key) == x25519(b.private_key, a.public_key));

  // u = 0, u = 1 and a point of order 8: the shared secret would be all zero.
  for (const char* low : {"0000000000000000000000000000000000000000000000000000000000000000",
                          "0100000000000000000000000000000000000000000000000000000000000000",
                          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    CAPTURE(low);
    const auto peer = hex_array<32>(low);
    CHECK(error_code([&] { x25519(a.private_key, peer); }) == Errc::crypto);
  }
}

// ---------------------------------------------------------------------------------------------
// HKDF-SHA256 (RFC 5869 appendix A) and the PRF.

TEST_CASE("hkdf_sha256: RFC 5869 test cases 1 and 3") {
  const Bytes ikm = from_hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  CHECK(to_hex(hkdf_sha256(ikm, from_hex("000102030405060708090a0b0c"),
                           from_hex("f0f1f2f3f4f5f6f7f8f9"), 42)) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  CHECK(to_hex(hkdf_sha256(ikm, {}, {}, 42)) ==
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  CHECK(error_code([&] { hkdf_sha256(ikm, {}, {}, 0); }) == Errc::invalid_argument);
  CHECK(error_code([&] { hkdf_sha256(ikm, {}, {}, 255 * 32 + 1); }) == Errc::invalid_argument);
}

TEST_CASE("Prf: definition, domains, random access") {
  const Seed128 key = seed_of(static_cast<u128>(0xdeadbeefULL) << 64 | 0x1234);
  const Prf prf(key);
  const Bytes batch = from_hex("00112233");

  // PRF(K, domain, j) = Prg(HKDF(K, "ppi-prf-v1", domain, 16))[j]
  const Bytes sub = hkdf_sha256(key.bytes, as_bytes("ppi-prf-v1"), batch, 16);
  Seed128 sub_seed;
  std::copy(sub.begin(), sub.end(), sub_seed.bytes.begin());
  std::vector<u128> expected(100), got(100);
  Prg(sub_seed).fill_u128(0, expected);
  prf.eval(batch, 0, got);
  CHECK(got == expected);
  CHECK(got[5] == aes_ecb_reference(sub_seed, 5));

  std::vector<u128> part(10);
  prf.eval(batch, 90, part);
  CHECK(std::equal(part.begin(), part.end(), expected.begin() + 90));
  CHECK(prf.stream(batch).at(42) == expected[42]);

  std::vector<u128> other_domain(100), other_key(100);
  prf.eval(from_hex("00112234"), 0, other_domain);
  Prf(seed_of(1)).eval(batch, 0, other_key);
  CHECK(other_domain != expected);
  CHECK(other_key != expected);
  // The PRF is not the plain PRG of its key.
  std::vector<u128> plain(100);
  Prg(key).fill_u128(0, plain);
  CHECK(plain != expected);
}
