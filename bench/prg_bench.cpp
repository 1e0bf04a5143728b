// Throughput of the seed expander (Prg::fill_bytes, PROTOCOL.md section 5) on one core, next
// to raw OpenSSL EVP aes-128-ctr encrypting the same buffer in place, which is the ceiling.
// Prints one JSON line per measurement; each is the best of several repetitions.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"

namespace {

using ppi::bench::best_seconds;

void print(const char* op, std::size_t bytes, double seconds) {
  std::printf(
      "{\"bench\":\"prg\",\"op\":\"%s\",\"bytes\":%zu,\"seconds\":%.6g,\"gb_per_s\":%.3f}\n", op,
      bytes, seconds, static_cast<double>(bytes) / seconds / 1e9);
}

}  // namespace

int main() {
  const ppi::Seed128 seed = ppi::random_seed();
  ppi::Prg prg(seed);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const unsigned char iv[16] = {};
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, seed.bytes.data(), iv) != 1) {
    std::fprintf(stderr, "EVP setup failed\n");
    return 1;
  }

  for (std::size_t bytes : {std::size_t{1} << 20, std::size_t{64} << 20}) {
    std::vector<std::uint8_t> buf(bytes, 0);  // touched once, so page faults are not timed
    const int reps = bytes <= (std::size_t{1} << 20) ? 200 : 10;
    print("fill_bytes", bytes, best_seconds(reps, [&] { prg.fill_bytes(0, buf); }));
    print("evp_aes_128_ctr_inplace", bytes, best_seconds(reps, [&] {
            int outl = 0;
            if (EVP_EncryptUpdate(ctx, buf.data(), &outl, buf.data(), static_cast<int>(bytes)) != 1)
              std::abort();
          }));
  }
  EVP_CIPHER_CTX_free(ctx);
  return 0;
}
