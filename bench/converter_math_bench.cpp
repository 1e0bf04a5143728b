// Throughput of the conversion arithmetic of PROTOCOL.md section 5 on one core, for 3 dealers
// and batches of 10^5, 10^6 and 10^7 elements (32 bytes each per share):
//   mask_pairs   a dealer masking its pair blocks (one AES-CTR stream + subtraction)
//   combine_pairs  the model owner summing the 3 dealers' masked blocks
//   expand       the client expanding 3 seeds into its share (3 AES-CTR streams + additions)
// Batches go through in chunks of 4 MiB, as they arrive from the database or the network, so
// memory stays small; the chunk buffers are reused, so they are mostly cache/L3-resident and
// this measures the arithmetic, not DRAM or the network. `gb_per_s` is batch share bytes
// (32 * elements) produced per second. One JSON line per measurement, best of several runs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench_util.hpp"
#include "core/bytes.hpp"
#include "crypto/csprng.hpp"
#include "crypto/prg.hpp"
#include "material/conversion.hpp"

namespace {

using ppi::Bytes;
using namespace ppi::material;

constexpr std::size_t kDealers = 3;
constexpr std::size_t kChunkElements = (std::size_t{4} << 20) / kPairBytes;

using ppi::bench::best_seconds;

void print(const char* op, std::uint64_t elements, double seconds) {
  const double bytes = static_cast<double>(elements) * kPairBytes;
  std::printf(
      "{\"bench\":\"converter_math\",\"op\":\"%s\",\"dealers\":%zu,\"elements\":%llu,"
      "\"share_bytes\":%.0f,\"seconds\":%.6g,\"gb_per_s\":%.3f}\n",
      op, kDealers, static_cast<unsigned long long>(elements), bytes, seconds,
      bytes / seconds / 1e9);
  std::fflush(stdout);
}

// Calls f(first_element, elements_in_chunk) over a batch, chunk by chunk.
void chunked(std::uint64_t elements, const std::function<void(std::uint64_t, std::size_t)>& f) {
  for (std::uint64_t e = 0; e < elements; e += kChunkElements) {
    f(e, static_cast<std::size_t>(std::min<std::uint64_t>(kChunkElements, elements - e)));
  }
}

}  // namespace

int main() {
  std::vector<Bytes> in(kDealers, Bytes(kChunkElements * kPairBytes));
  for (Bytes& b : in) ppi::random_bytes(b);
  Bytes out(kChunkElements * kPairBytes, 0);
  std::vector<ppi::Seed128> seeds;
  std::vector<ppi::u128> masks;
  for (std::size_t i = 0; i < kDealers; ++i) {
    seeds.push_back(ppi::random_seed());
    masks.push_back(ppi::random_u128());
  }
  ppi::Prg prg(seeds[0]);
  ClientShareExpander client(seeds, masks);

  for (std::uint64_t elements : {100'000ULL, 1'000'000ULL, 10'000'000ULL}) {
    const int reps = elements <= 1'000'000 ? 10 : 3;
    const auto layout = ppi::material::BatchLayout::all_arithmetic(elements);
    print("mask_pairs", elements, best_seconds(reps, [&] {
            chunked(elements, [&](std::uint64_t first, std::size_t n) {
              mask_pairs(layout, prg, first, {in[0].data(), n * kPairBytes},
                         {out.data(), n * kPairBytes});
            });
          }));
    print("combine_pairs", elements, best_seconds(reps, [&] {
            chunked(elements, [&](std::uint64_t, std::size_t n) {
              std::vector<ppi::ByteView> parts;
              for (const auto& part : in) parts.emplace_back(part.data(), n * kPairBytes);
              combine_pairs(layout, 0, parts, {out.data(), n * kPairBytes});
            });
          }));
    print("expand", elements, best_seconds(reps, [&] {
            chunked(elements, [&](std::uint64_t first, std::size_t n) {
              client.expand(layout, first, {out.data(), n * kPairBytes});
            });
          }));
  }
  return 0;
}
